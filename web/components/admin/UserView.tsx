'use client';
// One user: details, disable/enable, delete, roles and sessions. Each part
// is shown only with its permission, and every refusal of the server is
// shown where it happened.
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { describeUserAgent, shortId } from '@/lib/format';
import { api, ApiError, type SessionInfo, type SessionsPage } from '@/lib/api';
import { useSession } from '@/lib/session';
import {
  PAGE_SIZE,
  errorText,
  followLink,
  hrefFor,
  loadRoles,
  navigate,
  query,
  seg,
  useCursorList,
  useList,
  when,
  type AdminUser,
} from '@/lib/admin';
import { Alert } from '@/components/ui/Alert';
import { Button } from '@/components/ui/Button';
import { ConfirmDialog } from '@/components/ui/ConfirmDialog';
import { Badge, StatusBadge } from './Badge';
import { Select } from './Fields';
import { ListStatus } from './ListStatus';
import { Pager } from './Pager';

type Load = { status: 'loading' } | { status: 'ready'; user: AdminUser } | { status: 'error'; error: unknown };

export function UserView({ id, onDeleted }: { id: string; onDeleted: (email: string) => void }) {
  const { permissions, user: me } = useSession();
  const can = (p: string) => permissions.includes(p);
  const [load, setLoad] = useState<Load>({ status: 'loading' });
  const [nonce, setNonce] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);

  useEffect(() => {
    const ctl = new AbortController();
    setLoad((l) => (l.status === 'ready' && l.user.id === id ? l : { status: 'loading' }));
    api<AdminUser>('GET', `/api/v1/users/${seg(id)}`, undefined, { signal: ctl.signal }).then(
      (user) => setLoad({ status: 'ready', user }),
      (error) => !ctl.signal.aborted && setLoad({ status: 'error', error }),
    );
    return () => ctl.abort();
  }, [id, nonce]);

  // Moving to a user moves focus to its heading, as a page change would.
  const loadedId = load.status === 'ready' ? load.user.id : '';
  useEffect(() => {
    if (loadedId) heading.current?.focus();
  }, [loadedId]);

  const back = (
    <a
      href={hrefFor({ tab: 'users' })}
      onClick={followLink({ user: undefined }, { push: true, keep: ['tab', 'email', 'role', 'status'] })}
      className="text-sm font-medium text-zinc-700 underline underline-offset-2 hover:text-zinc-900 dark:text-zinc-300 dark:hover:text-white"
    >
      ← All users
    </a>
  );

  if (load.status === 'loading') {
    return (
      <div>
        {back}
        <p role="status" className="mt-4 text-sm text-zinc-600 dark:text-zinc-400">
          Loading the user…
        </p>
      </div>
    );
  }
  if (load.status === 'error') {
    const gone = load.error instanceof ApiError && (load.error.status === 404 || load.error.status === 403);
    return (
      <div>
        {back}
        <div className="mt-4">
          <Alert tone="error">
            <p>{gone ? "This user doesn't exist or you may not view it." : errorText(load.error)}</p>
            {!gone && (
              <Button variant="secondary" className="mt-2" onClick={() => setNonce((n) => n + 1)}>
                Try again
              </Button>
            )}
          </Alert>
        </div>
      </div>
    );
  }

  const user = load.user;
  const self = me?.id === user.id;
  const setUser = (u: AdminUser) => setLoad({ status: 'ready', user: u });
  return (
    <div>
      {back}
      <div className="mt-3 flex flex-wrap items-center gap-3">
        <h2 ref={heading} tabIndex={-1} className="break-all text-xl font-semibold text-zinc-900 outline-none dark:text-zinc-50">
          {user.email}
        </h2>
        <StatusBadge status={user.status} />
        {self && <Badge>You</Badge>}
      </div>
      <Details user={user} />
      {can('audit:read') && (
        <p className="mt-2 text-sm">
          <a
            href={hrefFor({ tab: 'audit', user_id: user.id })}
            onClick={(e) => {
              e.preventDefault();
              navigate({ tab: 'audit', user_id: user.id }, { push: true });
            }}
            className="font-medium text-zinc-700 underline underline-offset-2 dark:text-zinc-300"
          >
            Audit log of this user
          </a>
        </p>
      )}
      {can('users:write') && <AccountActions user={user} onChange={setUser} onDeleted={() => onDeleted(user.email)} />}
      {can('roles:manage') && <UserRoles user={user} self={self} onChange={() => setNonce((n) => n + 1)} />}
      {can('sessions:manage') && <UserSessions user={user} />}
    </div>
  );
}

function Details({ user }: { user: AdminUser }) {
  const rows: [string, React.ReactNode][] = [
    ['Name', user.name || '—'],
    ['Status', user.status === 'active' ? 'Active' : 'Disabled'],
    ['Email verified', user.email_verified ? 'Yes' : 'No'],
    ['Password', user.has_password ? 'Set' : 'None (social sign-in only)'],
    ['Roles', user.roles.length ? user.roles.join(', ') : '—'],
    ['Created', when(user.created_at)],
    ['Updated', when(user.updated_at)],
    ['Last login', user.last_login_at ? when(user.last_login_at) : 'Never'],
    ['User ID', <code key="id" className="break-all text-xs">{user.id}</code>],
  ];
  return (
    <dl className="mt-4 grid grid-cols-[7rem_1fr] gap-x-4 gap-y-2 rounded-lg border border-zinc-200 p-4 text-sm sm:grid-cols-[10rem_1fr] sm:gap-x-6 dark:border-zinc-700">
      {rows.map(([k, v]) => (
        <div key={k} className="contents">
          <dt className="font-medium text-zinc-600 dark:text-zinc-400">{k}</dt>
          <dd className="min-w-0 break-words text-zinc-900 dark:text-zinc-100">{v}</dd>
        </div>
      ))}
    </dl>
  );
}

function Section({ title, children }: { title: string; children: React.ReactNode }) {
  const id = useId();
  return (
    <section aria-labelledby={id} className="mt-6 border-t border-zinc-200 pt-5 dark:border-zinc-700">
      <h3 id={id} className="text-base font-semibold text-zinc-900 dark:text-zinc-50">
        {title}
      </h3>
      {children}
    </section>
  );
}

function AccountActions({
  user,
  onChange,
  onDeleted,
}: {
  user: AdminUser;
  onChange: (u: AdminUser) => void;
  onDeleted: () => void;
}) {
  const [busy, setBusy] = useState<'' | 'status' | 'verify' | 'delete'>('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);

  const patch = async (kind: 'status' | 'verify', body: Record<string, unknown>, done: string) => {
    if (busy) return;
    setBusy(kind);
    setError(null);
    setNotice(null);
    try {
      onChange(await api<AdminUser>('PATCH', `/api/v1/users/${seg(user.id)}`, body));
      setNotice(done);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy('');
    }
  };

  const [deleteError, setDeleteError] = useState<string | null>(null);
  const remove = async () => {
    if (busy) return;
    setBusy('delete');
    setDeleteError(null);
    try {
      await api<void>('DELETE', `/api/v1/users/${seg(user.id)}`);
      setConfirming(false);
      onDeleted();
    } catch (e) {
      // Shown in the dialog, where the decision was made (e.g. last_admin).
      setDeleteError(errorText(e));
    } finally {
      setBusy('');
    }
  };

  const active = user.status === 'active';
  return (
    <Section title="Account">
      <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">
        Disabling ends every session of the account at once; it can't sign in until enabled again.
      </p>
      <div className="mt-3 flex flex-wrap gap-2">
        {active ? (
          <Button variant="secondary" pending={busy === 'status'} disabled={!!busy} onClick={() => patch('status', { status: 'disabled' }, 'The user is disabled.')}>
            Disable user
          </Button>
        ) : (
          <Button variant="secondary" pending={busy === 'status'} disabled={!!busy} onClick={() => patch('status', { status: 'active' }, 'The user is enabled.')}>
            Enable user
          </Button>
        )}
        {!user.email_verified && (
          <Button variant="secondary" pending={busy === 'verify'} disabled={!!busy} onClick={() => patch('verify', { email_verified: true }, 'The email is marked verified.')}>
            Mark email verified
          </Button>
        )}
        <Button
          variant="danger"
          disabled={!!busy}
          onClick={() => {
            setDeleteError(null);
            setConfirming(true);
          }}
        >
          Delete user
        </Button>
      </div>
      <Feedback error={error} notice={notice} />
      <ConfirmDialog
        open={confirming}
        title="Delete this user?"
        confirmLabel="Delete"
        destructive
        pending={busy === 'delete'}
        error={deleteError}
        onConfirm={remove}
        onCancel={() => setConfirming(false)}
      >
        <p>
          <span className="break-all font-medium">{user.email}</span> will be signed out everywhere and deleted, and the address becomes free
          for a new account. This can't be undone.
        </p>
      </ConfirmDialog>
    </Section>
  );
}

function Feedback({ error, notice }: { error: string | null; notice: string | null }) {
  return (
    <>
      {error && (
        <div className="mt-3">
          <Alert tone="error">{error}</Alert>
        </div>
      )}
      <p role="status" className="mt-2 text-sm text-emerald-800 empty:hidden dark:text-emerald-300">
        {notice ?? ''}
      </p>
    </>
  );
}

function UserRoles({ user, self, onChange }: { user: AdminUser; self: boolean; onChange: () => void }) {
  const { state: rolesState } = useList(loadRoles);
  const roles = rolesState.status === 'ready' ? rolesState.items : null;
  const rolesError = rolesState.status === 'error' ? rolesState.error : null;
  const [pick, setPick] = useState('');
  const [busy, setBusy] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const grantable = (roles ?? []).filter((r) => !user.roles.includes(r.name));
  // A role granted meanwhile drops out of the choices.
  const chosen = grantable.some((r) => r.name === pick) ? pick : '';

  const change = async (method: 'PUT' | 'DELETE', role: string) => {
    if (busy) return;
    setBusy(`${method} ${role}`);
    setError(null);
    setNotice(null);
    try {
      await api<void>(method, `/api/v1/users/${seg(user.id)}/roles/${seg(role)}`);
      setNotice(method === 'PUT' ? `Granted ${role}.` : `Revoked ${role}.`);
      if (method === 'PUT') setPick('');
      onChange();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy('');
    }
  };

  return (
    <Section title="Roles">
      {self && (
        <p className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">Nobody can grant roles to themselves; another administrator has to.</p>
      )}
      {user.roles.length === 0 ? (
        <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">This user holds no role.</p>
      ) : (
        <ul aria-label="Roles held" className="mt-3 divide-y divide-zinc-200 rounded-lg border border-zinc-200 dark:divide-zinc-700 dark:border-zinc-700">
          {user.roles.map((r) => (
            <li key={r} className="flex items-center justify-between gap-3 px-3 py-2">
              <span className="font-mono text-sm text-zinc-900 dark:text-zinc-100">{r}</span>
              <Button variant="ghost" pending={busy === `DELETE ${r}`} disabled={!!busy} onClick={() => change('DELETE', r)}>
                Revoke {r}
              </Button>
            </li>
          ))}
        </ul>
      )}
      {rolesError ? (
        <p className="mt-3 text-sm text-zinc-600 dark:text-zinc-400">{`Could not load the roles to grant: ${errorText(rolesError)}`}</p>
      ) : (
        <form
          className="mt-3 flex flex-wrap items-end gap-2"
          onSubmit={(e) => {
            e.preventDefault();
            if (chosen) change('PUT', chosen);
          }}
        >
          <Select label="Grant role" value={chosen} onChange={(e) => setPick(e.target.value)} disabled={!roles || grantable.length === 0} className="min-w-48 flex-1 sm:flex-none">
            <option value="">{!roles ? 'Loading roles…' : grantable.length ? 'Choose a role' : 'Every role is held'}</option>
            {grantable.map((r) => (
              <option key={r.name} value={r.name}>
                {r.name}
              </option>
            ))}
          </Select>
          <Button type="submit" pending={busy === `PUT ${chosen}`} disabled={!chosen || !!busy}>
            Grant
          </Button>
        </form>
      )}
      <Feedback error={error} notice={notice} />
    </Section>
  );
}

function UserSessions({ user }: { user: AdminUser }) {
  const load = useCallback(
    async (cursor: string, signal: AbortSignal) => {
      const p = await api<SessionsPage>(
        'GET',
        `/api/v1/users/${seg(user.id)}/sessions` + query({ limit: PAGE_SIZE, cursor }),
        undefined,
        { signal },
      );
      return { items: p.sessions ?? [], next: p.next_cursor ?? '' };
    },
    [user.id],
  );
  // A status change (disabling ends every session) reloads the list.
  const list = useCursorList<SessionInfo>(`${user.id}\n${user.status}`, load);
  const [busy, setBusy] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const end = async (s: SessionInfo) => {
    if (busy) return;
    setBusy(s.id);
    setError(null);
    setNotice(null);
    try {
      await api<void>('DELETE', `/api/v1/users/${seg(user.id)}/sessions/${seg(s.id)}`);
      list.update((items) => items.filter((x) => x.id !== s.id));
      setNotice(`Session ${shortId(s.id)} ended.`);
    } catch (e) {
      // An already-ended session is gone either way.
      if (e instanceof ApiError && e.status === 404) {
        list.update((items) => items.filter((x) => x.id !== s.id));
        setNotice(`Session ${shortId(s.id)} had already ended.`);
      } else {
        setError(errorText(e));
      }
    } finally {
      setBusy('');
    }
  };

  const sessions = list.state.items ?? [];
  return (
    <Section title="Sessions">
      <ListStatus state={list.state} noun="sessions" onRetry={list.reload} empty="No active session." />
      {sessions.length > 0 && (
        <ul aria-label="Sessions" className="mt-3 divide-y divide-zinc-200 rounded-lg border border-zinc-200 dark:divide-zinc-700 dark:border-zinc-700">
          {sessions.map((s) => (
            <li key={s.id} className="flex flex-col gap-2 px-3 py-3 sm:flex-row sm:items-center sm:justify-between">
              <div id={`session-${s.id}`} className="min-w-0 text-sm">
                <p className="font-medium text-zinc-900 dark:text-zinc-100">
                  {describeUserAgent(s.user_agent)}
                  {s.current && <span className="ml-2 text-xs font-normal text-zinc-600 dark:text-zinc-400">(your current session)</span>}
                </p>
                <p className="text-zinc-600 dark:text-zinc-400">
                  {s.ip || 'Unknown IP'} · last seen {when(s.last_seen_at)} · session <code>{shortId(s.id)}</code>
                </p>
              </div>
              <Button
                variant="secondary"
                aria-describedby={`session-${s.id}`}
                pending={busy === s.id}
                disabled={!!busy}
                onClick={() => end(s)}
                className="self-start sm:self-auto"
              >
                End session
              </Button>
            </li>
          ))}
        </ul>
      )}
      <Pager label="Sessions pages" list={list} />
      <Feedback error={error} notice={notice} />
    </Section>
  );
}
