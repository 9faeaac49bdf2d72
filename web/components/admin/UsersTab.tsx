'use client';
// The user list: email-prefix search, role and status filters, cursor
// pagination. A table from 640 px up, cards below it.
import { useCallback, useEffect, useId, useState } from 'react';
import { api } from '@/lib/api';
import {
  PAGE_SIZE,
  followLink,
  hrefFor,
  loadRoles,
  navigate,
  query,
  useCursorList,
  useDebounced,
  useList,
  when,
  type AdminUser,
  type UsersPage,
} from '@/lib/admin';
import { Badge, StatusBadge } from './Badge';
import { Select, inputClass } from './Fields';
import { ListStatus } from './ListStatus';
import { Pager } from './Pager';
import { Table, td } from './Table';

// The built-in roles exist everywhere; they are the choices when the caller
// may not list roles (GET /roles needs roles:manage).
const BUILTIN_ROLES = ['admin', 'user'];

function useRoleNames(): string[] {
  const { state } = useList(loadRoles);
  // Until they arrive, and when they can't, the built-in ones.
  return state.status === 'ready' ? state.items.map((x) => x.name) : BUILTIN_ROLES;
}

export function UsersTab({ params }: { params: URLSearchParams }) {
  // The filters live in the URL (Back from a user returns to the same list);
  // the search box writes to it once typing pauses.
  const urlEmail = params.get('email') ?? '';
  const role = params.get('role') ?? '';
  const status = params.get('status') ?? '';
  const [email, setEmail] = useState(urlEmail);
  const debouncedEmail = useDebounced(email.trim(), 300);
  const roles = useRoleNames();
  const searchId = useId();

  useEffect(() => {
    navigate({ email: debouncedEmail || undefined }, { keep: ['tab', 'role', 'status'] });
  }, [debouncedEmail]);
  // The URL changed by itself (Back, the Users tab): the box follows it.
  const [seenUrlEmail, setSeenUrlEmail] = useState(urlEmail);
  if (urlEmail !== seenUrlEmail) {
    setSeenUrlEmail(urlEmail);
    if (urlEmail !== debouncedEmail) setEmail(urlEmail);
  }

  const key = `${urlEmail}\n${role}\n${status}`;
  const load = useCallback(
    async (cursor: string, signal: AbortSignal) => {
      const page = await api<UsersPage>(
        'GET',
        '/api/v1/users' + query({ email: urlEmail, role, status, limit: PAGE_SIZE, cursor }),
        undefined,
        { signal },
      );
      return { items: page.users ?? [], next: page.next_cursor ?? '' };
    },
    [urlEmail, role, status],
  );
  const list = useCursorList<AdminUser>(key, load);
  const users = list.state.items ?? [];
  const filtered = urlEmail !== '' || role !== '' || status !== '';

  const setFilter = (k: 'role' | 'status', v: string) =>
    navigate({ [k]: v || undefined }, { keep: ['tab', 'email', 'role', 'status'] });

  return (
    <section aria-labelledby="users-heading">
      <h2 id="users-heading" className="sr-only">
        Users
      </h2>
      <form role="search" onSubmit={(e) => e.preventDefault()} className="grid gap-3 sm:grid-cols-[1fr_12rem_12rem]">
        <div>
          <label htmlFor={searchId} className="mb-1 block text-sm font-medium text-zinc-800 dark:text-zinc-200">
            Search by email
          </label>
          <input
            id={searchId}
            type="search"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            placeholder="ada@"
            autoComplete="off"
            spellCheck={false}
            className={inputClass}
          />
        </div>
        <Select label="Role" value={role} onChange={(e) => setFilter('role', e.target.value)}>
          <option value="">Any role</option>
          {(roles.includes(role) || !role ? roles : [...roles, role]).map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </Select>
        <Select label="Status" value={status} onChange={(e) => setFilter('status', e.target.value)}>
          <option value="">Any status</option>
          <option value="active">Active</option>
          <option value="disabled">Disabled</option>
        </Select>
      </form>

      <p aria-live="polite" className="sr-only">
        {list.state.status === 'ready' ? `${users.length} users on page ${list.page}` : ''}
      </p>

      <ListStatus
        state={list.state}
        noun="users"
        onRetry={list.reload}
        empty={filtered ? 'No user matches these filters.' : 'No users yet.'}
      />

      {users.length > 0 && (
        <div aria-busy={list.state.status === 'loading'} className={list.state.status === 'loading' ? 'opacity-60' : ''}>
          <UsersTable users={users} />
          <UsersCards users={users} />
        </div>
      )}

      <Pager label="Users pages" list={list} />
    </section>
  );
}

function UserLink({ user }: { user: AdminUser }) {
  const href = hrefFor({ tab: 'users', user: user.id });
  return (
    <a
      href={href}
      onClick={followLink({ tab: 'users', user: user.id }, { push: true, keep: ['email', 'role', 'status'] })}
      className="break-all font-medium text-zinc-900 underline decoration-zinc-400 underline-offset-2 hover:decoration-2 dark:text-zinc-100"
    >
      {user.email}
    </a>
  );
}

function Roles({ roles }: { roles: string[] }) {
  if (roles.length === 0) return <span className="text-zinc-500 dark:text-zinc-400">—</span>;
  return (
    <span className="flex flex-wrap gap-1">
      {roles.map((r) => (
        <Badge key={r} tone={r === 'admin' ? 'amber' : 'gray'}>
          {r}
        </Badge>
      ))}
    </span>
  );
}

function UsersTable({ users }: { users: AdminUser[] }) {
  return (
    <Table caption="Users" columns={['Email', 'Name', 'Status', 'Roles', 'Verified', 'Created', 'Last login']}>
      {users.map((u) => (
        <tr key={u.id} className="hover:bg-zinc-50 dark:hover:bg-zinc-800/40">
          <th scope="row" className={`${td} text-left font-normal`}>
            <UserLink user={u} />
          </th>
          <td className={td}>{u.name || <span className="text-zinc-500 dark:text-zinc-400">—</span>}</td>
          <td className={td}>
            <StatusBadge status={u.status} />
          </td>
          <td className={td}>
            <Roles roles={u.roles} />
          </td>
          <td className={td}>{u.email_verified ? 'Yes' : 'No'}</td>
          <td className={`${td} whitespace-nowrap`}>{when(u.created_at)}</td>
          <td className={`${td} whitespace-nowrap`}>{u.last_login_at ? when(u.last_login_at) : 'Never'}</td>
        </tr>
      ))}
    </Table>
  );
}

function UsersCards({ users }: { users: AdminUser[] }) {
  return (
    <ul aria-label="Users" className="mt-4 space-y-3 sm:hidden">
      {users.map((u) => (
        <li key={u.id} className="rounded-lg border border-zinc-200 p-3 dark:border-zinc-700">
          <div className="flex items-start justify-between gap-2">
            <UserLink user={u} />
            <StatusBadge status={u.status} />
          </div>
          {u.name && <p className="mt-1 text-sm text-zinc-700 dark:text-zinc-300">{u.name}</p>}
          <dl className="mt-2 grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-sm">
            <dt className="text-zinc-600 dark:text-zinc-400">Roles</dt>
            <dd>
              <Roles roles={u.roles} />
            </dd>
            <dt className="text-zinc-600 dark:text-zinc-400">Verified</dt>
            <dd className="text-zinc-800 dark:text-zinc-200">{u.email_verified ? 'Yes' : 'No'}</dd>
            <dt className="text-zinc-600 dark:text-zinc-400">Created</dt>
            <dd className="text-zinc-800 dark:text-zinc-200">{when(u.created_at)}</dd>
            <dt className="text-zinc-600 dark:text-zinc-400">Last login</dt>
            <dd className="text-zinc-800 dark:text-zinc-200">{u.last_login_at ? when(u.last_login_at) : 'Never'}</dd>
          </dl>
        </li>
      ))}
    </ul>
  );
}
