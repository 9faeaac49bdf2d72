'use client';
// The admin console: who may see it, its tabs, and which view the query
// string names (?tab=users|roles|audit|clients, ?user=<id>). A static export
// has no dynamic segments, so the view lives in the query string.
import { useEffect, useState } from 'react';
import { useTitle } from '@/lib/config';
import { useSession, hasAdminPermission } from '@/lib/session';
import { TABS, hrefFor, navigate, useSearch, type Tab } from '@/lib/admin';
import { Alert } from '@/components/ui/Alert';
import { PageHeading } from '@/components/ui/PageHeading';
import { TextLink } from '@/components/ui/TextLink';
import { TopBar } from '@/components/ui/TopBar';
import { AuditTab } from './AuditTab';
import { ClientsTab } from './ClientsTab';
import { RolesTab } from './RolesTab';
import { UsersTab } from './UsersTab';
import { UserView } from './UserView';

export function AdminConsole() {
  const { permissions } = useSession();
  useTitle('Admin console');
  return (
    <div className="min-h-dvh">
      <TopBar wide />
      <main className="mx-auto max-w-6xl px-4 py-6 sm:py-8">
        {hasAdminPermission(permissions) ? <Console permissions={permissions} /> : <NoAccess />}
      </main>
    </div>
  );
}

function NoAccess() {
  return (
    <div className="mx-auto max-w-lg">
      <PageHeading>Admin console</PageHeading>
      <div className="mt-4">
        <Alert tone="warning" title="You don't have access to the admin console">
          <p>Your account holds no administrative permission. Ask an administrator if you need one.</p>
        </Alert>
      </div>
      <p className="mt-4 text-sm">
        <TextLink href="/account/">Back to your account</TextLink>
      </p>
    </div>
  );
}

function Console({ permissions }: { permissions: string[] }) {
  const search = useSearch();
  const params = new URLSearchParams(search);
  const allowed = TABS.filter((t) => permissions.includes(t.permission));
  const asked = params.get('tab') as Tab | null;
  const tab = allowed.find((t) => t.id === asked) ?? allowed[0];
  const userId = tab?.id === 'users' ? params.get('user') : null;
  // Set when a user was deleted, shown on the list it returns to.
  const [notice, setNotice] = useState<string | null>(null);
  useEffect(() => {
    if (userId) setNotice(null);
  }, [userId]);

  return (
    <>
      <PageHeading>Admin console</PageHeading>
      {allowed.length > 0 && (
        <nav aria-label="Admin console sections" className="mt-4 border-b border-zinc-200 dark:border-zinc-800">
          <ul className="-mb-px flex flex-wrap gap-x-1">
            {allowed.map((t) => {
              const current = t.id === tab.id;
              return (
                <li key={t.id} className="shrink-0">
                  <a
                    href={hrefFor({ tab: t.id })}
                    aria-current={current ? 'page' : undefined}
                    onClick={(e) => {
                      if (e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || e.button !== 0) return;
                      e.preventDefault();
                      setNotice(null);
                      navigate({ tab: t.id }, { push: true });
                    }}
                    className={`inline-block rounded-t-md border-b-2 px-3 py-2 text-sm font-medium ${
                      current
                        ? 'border-brand text-zinc-900 dark:text-zinc-50'
                        : 'border-transparent text-zinc-600 hover:border-zinc-300 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100'
                    }`}
                  >
                    {t.label}
                  </a>
                </li>
              );
            })}
          </ul>
        </nav>
      )}
      <div className="mt-6">
        {!tab ? (
          <Alert tone="info" title="Nothing to show here">
            <p>Your permissions ({permissions.join(', ')}) don't open any section of the console on their own.</p>
          </Alert>
        ) : (
          <>
            {notice && (
              <Alert tone="success" className="mb-4">
                {notice}
              </Alert>
            )}
            {tab.id === 'users' &&
              (userId ? (
                <UserView
                  key={userId}
                  id={userId}
                  onDeleted={(email) => {
                    setNotice(`${email} was deleted.`);
                    navigate({ user: undefined }, { keep: ['tab', 'email', 'role', 'status'] });
                  }}
                />
              ) : (
                <UsersTab params={params} />
              ))}
            {tab.id === 'roles' && <RolesTab />}
            {tab.id === 'audit' && <AuditTab params={params} />}
            {tab.id === 'clients' && <ClientsTab />}
          </>
        )}
      </div>
    </>
  );
}
