'use client';
import type { ReactNode } from 'react';
import { useTitle } from '@/lib/config';
import { Brand } from './Brand';
import { Card } from './Card';
import { PageHeading } from './PageHeading';

// The frame of the signed-out pages: brand on top, one centred card, a
// footer line under it.
export function AuthShell({ title, description, children, footer }: { title: string; description?: ReactNode; children: ReactNode; footer?: ReactNode }) {
  useTitle(title);
  return (
    <div className="flex min-h-dvh flex-col items-center px-4 py-10 sm:justify-center sm:py-16">
      <header className="mb-6 flex justify-center">
        <Brand />
      </header>
      <main className="w-full max-w-md">
        <Card className="px-5 py-7 sm:px-8 sm:py-9">
          <PageHeading>{title}</PageHeading>
          {description && <div className="mt-1.5 text-sm text-zinc-600 dark:text-zinc-400">{description}</div>}
          <div className="mt-6">{children}</div>
        </Card>
        {footer && <div className="mt-6 text-center text-sm text-zinc-600 dark:text-zinc-400">{footer}</div>}
      </main>
    </div>
  );
}
