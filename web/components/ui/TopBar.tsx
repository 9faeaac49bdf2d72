'use client';
import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useState } from 'react';
import { hasAdminPermission, useSession } from '@/lib/session';
import { Brand } from './Brand';
import { Button } from './Button';

function NavLink({ href, children }: { href: string; children: string }) {
  const pathname = usePathname() || '/';
  const current = pathname === href || (href !== '/' && pathname.startsWith(href));
  return (
    <Link
      href={href}
      aria-current={current ? 'page' : undefined}
      className={`rounded-md px-2.5 py-1.5 text-sm font-medium ${
        current
          ? 'bg-zinc-100 text-zinc-900 dark:bg-zinc-800 dark:text-zinc-50'
          : 'text-zinc-700 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800'
      }`}
    >
      {children}
    </Link>
  );
}

// The bar of the signed-in pages: brand, the pages this user may open, and
// "Sign out".
/** `wide` lines the bar up with the admin console's wider content. */
export function TopBar({ wide = false }: { wide?: boolean }) {
  const { user, permissions, signOut } = useSession();
  const [pending, setPending] = useState(false);
  const out = async () => {
    setPending(true);
    try {
      await signOut();
    } finally {
      setPending(false);
    }
  };
  return (
    <header className="border-b border-zinc-200 bg-white dark:border-zinc-800 dark:bg-zinc-900">
      <div className={`mx-auto flex ${wide ? 'max-w-6xl' : 'max-w-3xl'} flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3`}>
        <Link href="/account/" className="rounded-md">
          <Brand size="sm" />
        </Link>
        <nav aria-label="Main" className="flex items-center gap-1">
          <NavLink href="/account/">Account</NavLink>
          {hasAdminPermission(permissions) && <NavLink href="/admin/">Admin console</NavLink>}
        </nav>
        <div className="ml-auto flex items-center gap-3">
          {user && <span className="hidden max-w-56 truncate text-sm text-zinc-600 sm:inline dark:text-zinc-400">{user.email}</span>}
          <Button variant="secondary" onClick={out} pending={pending}>
            Sign out
          </Button>
        </div>
      </div>
    </header>
  );
}
