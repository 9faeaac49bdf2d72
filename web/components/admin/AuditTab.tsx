'use client';
// The audit log: the filters GET /api/v1/audit takes (type, user_id, since,
// until), newest first, cursor pagination. The filters live in the URL, so
// a user's page can link to their events.
import { useCallback, useState, type FormEvent } from 'react';
import { shortId } from '@/lib/format';
import { api } from '@/lib/api';
import { useSession } from '@/lib/session';
import {
  EVENT_TYPES,
  PAGE_SIZE,
  followLink,
  hrefFor,
  navigate,
  query,
  useCursorList,
  useUserEmails,
  when,
  type AuditEvent,
  type AuditPage,
} from '@/lib/admin';
import { Button } from '@/components/ui/Button';
import { TextField } from '@/components/ui/TextField';
import { linkClass } from '@/components/ui/TextLink';
import { OutcomeBadge } from './Badge';
import { Select } from './Fields';
import { ListStatus } from './ListStatus';
import { Pager } from './Pager';
import { Table, td } from './Table';

const FILTERS = ['type', 'user_id', 'since', 'until'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

// <input type="datetime-local"> speaks local wall-clock time without a zone;
// the API wants RFC 3339. The URL keeps the RFC 3339 form.
function toRFC3339(local: string): string {
  if (!local) return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function toLocalInput(iso: string): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

const UUIDISH = /^[0-9a-fA-F-]{1,64}$/;

export function AuditTab({ params }: { params: URLSearchParams }) {
  const applied: Filters = {
    type: params.get('type') ?? '',
    user_id: params.get('user_id') ?? '',
    since: params.get('since') ?? '',
    until: params.get('until') ?? '',
  };
  const key = FILTERS.map((k) => applied[k]).join('\n');
  const load = useCallback(
    async (cursor: string, signal: AbortSignal) => {
      const [type, user_id, since, until] = key.split('\n');
      const page = await api<AuditPage>(
        'GET',
        '/api/v1/audit' + query({ type, user_id, since, until, limit: PAGE_SIZE, cursor }),
        undefined,
        { signal },
      );
      return { items: page.events ?? [], next: page.next_cursor ?? '' };
    },
    [key],
  );
  const list = useCursorList<AuditEvent>(key, load);
  const events = list.state.items ?? [];
  const { permissions } = useSession();
  const ids = events.flatMap((e) => [e.actor_type === 'user' ? e.actor_id : '', e.user_id].filter(Boolean) as string[]);
  const emails = useUserEmails(ids, permissions.includes('users:read'));
  const filtered = FILTERS.some((k) => applied[k] !== '');

  return (
    <section aria-labelledby="audit-heading">
      <h2 id="audit-heading" className="text-lg font-semibold text-zinc-900 dark:text-zinc-50">
        Audit log
      </h2>
      <AuditFilters key={key} applied={applied} />
      <ListStatus
        state={list.state}
        noun="events"
        onRetry={list.reload}
        empty={filtered ? 'No event matches these filters.' : 'No events recorded yet.'}
      />
      {events.length > 0 && (
        <div aria-busy={list.state.status === 'loading'} className={list.state.status === 'loading' ? 'opacity-60' : ''}>
          <EventsTable events={events} emails={emails} />
          <EventsCards events={events} emails={emails} />
        </div>
      )}
      <Pager label="Audit log pages" list={list} />
    </section>
  );
}

function AuditFilters({ applied }: { applied: Filters }) {
  const [type, setType] = useState(applied.type);
  const [userId, setUserId] = useState(applied.user_id);
  const [since, setSince] = useState(toLocalInput(applied.since));
  const [until, setUntil] = useState(toLocalInput(applied.until));
  const [userError, setUserError] = useState<string | null>(null);
  const [rangeError, setRangeError] = useState<string | null>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const uid = userId.trim();
    const s = toRFC3339(since);
    const u = toRFC3339(until);
    const badUser = uid !== '' && !UUIDISH.test(uid);
    const badRange = s !== '' && u !== '' && s >= u;
    setUserError(badUser ? 'A user ID looks like 0190a1b2-…; copy it from the user’s page.' : null);
    setRangeError(badRange ? '“To” must be after “From”.' : null);
    if (badUser || badRange) return;
    navigate({ tab: 'audit', type, user_id: uid, since: s, until: u }, { push: true });
  };

  const types: string[] = (EVENT_TYPES as readonly string[]).includes(type) || !type ? [...EVENT_TYPES] : [...EVENT_TYPES, type];
  return (
    <form role="search" aria-label="Filter the audit log" onSubmit={submit} noValidate className="mt-3 grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
      <Select label="Event" value={type} onChange={(e) => setType(e.target.value)}>
        <option value="">Any event</option>
        {types.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </Select>
      <TextField label="User ID" value={userId} onChange={(e) => setUserId(e.target.value)} error={userError} autoComplete="off" spellCheck={false} />
      <TextField label="From" type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
      <TextField label="To" type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} error={rangeError} />
      <div className="flex flex-wrap gap-2 sm:col-span-2 lg:col-span-4">
        <Button type="submit">Apply filters</Button>
        <Button variant="secondary" onClick={() => navigate({ tab: 'audit' }, { push: true })}>
          Clear filters
        </Button>
      </div>
    </form>
  );
}

function UserRef({ id, email }: { id: string; email?: string }) {
  return (
    <a
      href={hrefFor({ tab: 'users', user: id })}
      onClick={followLink({ tab: 'users', user: id }, { push: true })}
      className={`${linkClass} break-all ${email ? '' : 'font-mono'}`}
      title={id}
    >
      {email ?? (
        <>
          <span className="sr-only">user </span>
          {shortId(id)}
        </>
      )}
    </a>
  );
}

type Emails = Record<string, string>;

function Actor({ e, emails }: { e: AuditEvent; emails: Emails }) {
  if (e.actor_type === 'user' && e.actor_id) return <UserRef id={e.actor_id} email={emails[e.actor_id]} />;
  if (e.actor_type === 'client' && e.actor_id)
    return (
      <span title={e.actor_id}>
        client <code>{shortId(e.actor_id)}</code>
      </span>
    );
  return <span className="text-zinc-600 dark:text-zinc-400">{e.actor_type || '—'}</span>;
}

function Subject({ e, emails }: { e: AuditEvent; emails: Emails }) {
  if (!e.user_id && !e.resource) return <span className="text-zinc-500 dark:text-zinc-400">—</span>;
  return (
    <span className="flex flex-col gap-0.5">
      {e.user_id && <UserRef id={e.user_id} email={emails[e.user_id]} />}
      {e.resource && (
        <code className="break-all text-xs" title={e.resource}>
          {e.resource}
        </code>
      )}
    </span>
  );
}

function EventsTable({ events, emails }: { events: AuditEvent[]; emails: Emails }) {
  return (
    <Table caption="Audit events, newest first" columns={['Time', 'Event', 'Actor', 'Subject', 'Outcome', 'IP']}>
      {events.map((e) => (
        <tr key={e.id}>
          <td className={`${td} whitespace-nowrap`}>
            <time dateTime={e.at}>{when(e.at)}</time>
          </td>
          <th scope="row" className={`${td} text-left font-normal`}>
            <code className="text-xs font-semibold">{e.type}</code>
          </th>
          <td className={td}>
            <Actor e={e} emails={emails} />
          </td>
          <td className={td}>
            <Subject e={e} emails={emails} />
          </td>
          <td className={td}>
            <span className="flex flex-col items-start gap-0.5">
              <OutcomeBadge outcome={e.outcome} />
              {e.reason && <span className="text-xs text-zinc-600 dark:text-zinc-400">{e.reason}</span>}
            </span>
          </td>
          <td className={`${td} whitespace-nowrap font-mono text-xs`} title={e.user_agent || undefined}>
            {e.ip || '—'}
          </td>
        </tr>
      ))}
    </Table>
  );
}

function EventsCards({ events, emails }: { events: AuditEvent[]; emails: Emails }) {
  return (
    <ul aria-label="Audit events, newest first" className="mt-4 space-y-3 sm:hidden">
      {events.map((e) => (
        <li key={e.id} className="rounded-lg border border-zinc-200 p-3 text-sm dark:border-zinc-700">
          <div className="flex items-start justify-between gap-2">
            <code className="break-all text-xs font-semibold">{e.type}</code>
            <OutcomeBadge outcome={e.outcome} />
          </div>
          <dl className="mt-2 grid grid-cols-[5.5rem_1fr] gap-x-3 gap-y-1">
            <dt className="text-zinc-600 dark:text-zinc-400">Time</dt>
            <dd>
              <time dateTime={e.at}>{when(e.at)}</time>
            </dd>
            <dt className="text-zinc-600 dark:text-zinc-400">Actor</dt>
            <dd className="min-w-0">
              <Actor e={e} emails={emails} />
            </dd>
            <dt className="text-zinc-600 dark:text-zinc-400">Subject</dt>
            <dd className="min-w-0">
              <Subject e={e} emails={emails} />
            </dd>
            {e.reason && (
              <>
                <dt className="text-zinc-600 dark:text-zinc-400">Reason</dt>
                <dd>{e.reason}</dd>
              </>
            )}
            <dt className="text-zinc-600 dark:text-zinc-400">IP</dt>
            <dd className="font-mono text-xs">{e.ip || '—'}</dd>
          </dl>
        </li>
      ))}
    </ul>
  );
}
