// The admin console's shapes, permissions and the helpers its views share:
// the query-string state of the page, cursor pagination and error wording.
// The shapes mirror internal/httpapi (admin.go, v1.go, v2.go).
'use client';

import { useCallback, useEffect, useRef, useState, useSyncExternalStore, type MouseEvent as ReactMouseEvent } from 'react';
import { ApiError, api, type User } from './api';
import { dateTime } from './format';
import { errorMessage } from './messages';

export const PERMISSIONS = [
  'users:read',
  'users:write',
  'roles:manage',
  'sessions:manage',
  'audit:read',
  'clients:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const PERMISSION_HELP: Record<Permission, string> = {
  'users:read': 'List and view accounts',
  'users:write': 'Edit, disable and delete accounts',
  'roles:manage': 'Create and edit roles, grant and revoke them',
  'sessions:manage': "List and end other users' sessions",
  'audit:read': 'Read the audit log',
  'clients:manage': 'Create and delete service clients',
};

export type UserStatus = 'active' | 'disabled';

/** A user as the admin API returns it: the same shape as /users/me, with the status narrowed. */
export type AdminUser = User & { status: UserStatus };

export interface UsersPage {
  users: AdminUser[];
  next_cursor: string;
}

export interface Role {
  name: string;
  description: string;
  permissions: string[];
  builtin: boolean;
  created_at: string;
  updated_at: string;
}

export interface AuditEvent {
  id: string;
  at: string;
  type: string;
  actor_type: string;
  actor_id?: string;
  user_id?: string;
  resource?: string;
  ip?: string;
  user_agent?: string;
  outcome: string;
  reason?: string;
}

export interface AuditPage {
  events: AuditEvent[];
  next_cursor: string;
}

export interface ServiceClient {
  client_id: string;
  name: string;
  scopes: string[];
  created_by: string;
  created_at: string;
}

export interface CreatedClient extends ServiceClient {
  client_secret: string;
}

// The audit event types authd writes (internal/auth/event.go), offered as
// the type filter; the server accepts any string and simply matches none.
export const EVENT_TYPES = [
  'user.registered',
  'user.created',
  'user.updated',
  'user.disabled',
  'user.enabled',
  'user.deleted',
  'user.email_flagged',
  'login.succeeded',
  'login.failed',
  'logout',
  'refresh_token.reused',
  'password.changed',
  'password.reset',
  'password.reset_requested',
  'email.verified',
  'email.change_requested',
  'email.changed',
  'mail.undeliverable',
  'identity.linked',
  'identity.unlinked',
  'role.granted',
  'role.revoked',
  'role.created',
  'role.updated',
  'role.deleted',
  'session.revoked',
  'key.rotated',
  'key.revoked',
  'client.created',
  'client.deleted',
  'token.revoked',
] as const;

export type Tab = 'users' | 'roles' | 'audit' | 'clients';

export const TABS: { id: Tab; label: string; permission: Permission }[] = [
  { id: 'users', label: 'Users', permission: 'users:read' },
  { id: 'roles', label: 'Roles', permission: 'roles:manage' },
  { id: 'audit', label: 'Audit log', permission: 'audit:read' },
  { id: 'clients', label: 'Service clients', permission: 'clients:manage' },
];

export const PAGE_SIZE = 25;

/** query builds "?a=b&…" from the non-empty values, or "" when none is. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** seg escapes one path segment (ids, role names). */
export function seg(s: string): string {
  return encodeURIComponent(s);
}

/**
 * errorText words an API failure for the console. The refusals of the admin
 * API carry a message naming the rule that refused (forbidden: "You can't
 * hand out the permission …", conflict: "The built-in role … can't be
 * deleted"), so those are shown as the server words them; every other code
 * gets the pages' shared wording.
 */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (SERVER_WORDED.has(err.code) && err.message && !/^(Forbidden|Conflict|Not Found|Bad Request)$/.test(err.message)) {
      return err.message;
    }
    if (err.code === 'conflict') return 'Someone else changed this meanwhile. Reload and try again.';
  }
  return errorMessage(err) || 'Something went wrong. Try again.';
}

const SERVER_WORDED = new Set(['forbidden', 'conflict', 'not_found', 'invalid_request', 'invalid_scope']);

/** when formats a timestamp of the API for reading; "—" for none. */
export function when(iso: string | null | undefined): string {
  return dateTime(iso) || '—';
}

/** validScope mirrors the server's RFC 6749 scope-token check (internal/auth/clients.go). */
export function validScope(sc: string): boolean {
  if (sc === '' || sc.length > 128) return false;
  for (let i = 0; i < sc.length; i++) {
    const c = sc.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

export const ROLE_NAME = /^[a-z][a-z0-9_.:-]{0,63}$/;

// ---- the page's state in the query string --------------------------------

// A static export has no dynamic segments, so the view (?tab=, ?user=) lives
// in the query string. History changes are announced with this event because
// pushState fires no popstate.
const URL_EVENT = 'authd:admin-url';

function subscribe(cb: () => void): () => void {
  window.addEventListener('popstate', cb);
  window.addEventListener(URL_EVENT, cb);
  return () => {
    window.removeEventListener('popstate', cb);
    window.removeEventListener(URL_EVENT, cb);
  };
}

/** useSearch returns the page's current query string ("" before hydration). */
export function useSearch(): string {
  return useSyncExternalStore(
    subscribe,
    () => window.location.search,
    () => '',
  );
}

/**
 * navigate changes the query string: the given keys are set (or removed when
 * empty) and the rest are dropped unless keep lists them. push adds a history
 * entry, so Back returns to the previous view.
 */
export function navigate(set: Record<string, string | undefined>, opts: { push?: boolean; keep?: string[] } = {}) {
  const cur = new URLSearchParams(window.location.search);
  const next = new URLSearchParams();
  for (const k of opts.keep ?? []) {
    const v = cur.get(k);
    if (v !== null) next.set(k, v);
  }
  for (const [k, v] of Object.entries(set)) {
    if (v) next.set(k, v);
    else next.delete(k);
  }
  const s = next.toString();
  const url = window.location.pathname + (s ? `?${s}` : '');
  if (url === window.location.pathname + window.location.search) return;
  if (opts.push) window.history.pushState(window.history.state, '', url);
  else window.history.replaceState(window.history.state, '', url);
  window.dispatchEvent(new Event(URL_EVENT));
}

/**
 * followLink is the onClick of an <a href={hrefFor(…)}>: a plain click changes
 * the view in place; a modified one (new tab, new window) is the browser's.
 */
export function followLink(set: Record<string, string | undefined>, opts: { push?: boolean; keep?: string[] } = {}) {
  return (e: ReactMouseEvent) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || e.button !== 0) return;
    e.preventDefault();
    navigate(set, opts);
  };
}

/** hrefFor is the link to a view, for <a href> (opening in a new tab works). */
export function hrefFor(set: Record<string, string | undefined>): string {
  const q = query(set);
  return q || '?';
}

// ---- lists ------------------------------------------------------------------

export type ListState<T> =
  | { status: 'loading'; items?: T[] }
  | { status: 'ready'; items: T[] }
  | { status: 'error'; error: unknown; items?: T[] };

/**
 * useList loads a whole (unpaged) listing, keeping the rows on screen while a
 * reload runs and after it fails. A request overtaken by a reload, or by
 * leaving the view, is aborted and its failure not shown.
 */
export function useList<T>(load: (signal: AbortSignal) => Promise<T[]>) {
  const [state, setState] = useState<ListState<T>>({ status: 'loading' });
  const [nonce, setNonce] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ status: 'loading', items: s.items }));
    loadRef.current(ctl.signal).then(
      (items) => setState({ status: 'ready', items }),
      (error) => !ctl.signal.aborted && setState((s) => ({ status: 'error', error, items: s.items })),
    );
    return () => ctl.abort();
  }, [nonce]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  // update edits the rows on screen after a successful change, without a reload.
  const update = useCallback((f: (items: T[]) => T[]) => {
    setState((s) => (s.status === 'ready' ? { status: 'ready', items: f(s.items) } : s));
  }, []);
  return { state, reload, update };
}

/** loadRoles lists every role (GET /roles, roles:manage). */
export function loadRoles(signal?: AbortSignal): Promise<Role[]> {
  return api<{ roles: Role[] }>('GET', '/api/v1/roles', undefined, { signal }).then((r) => r.roles ?? []);
}

/**
 * useCursorList loads one page of a cursor-paged listing and keeps the stack
 * of cursors that led to it, so Previous page walks back exactly. A change
 * of key (the filters) starts over at the first page. Answers of a request
 * that was overtaken by a newer one are dropped.
 */
export function useCursorList<T>(
  key: string,
  load: (cursor: string, signal: AbortSignal) => Promise<{ items: T[]; next: string }>,
) {
  const [cursors, setCursors] = useState<string[]>(['']);
  const [state, setState] = useState<ListState<T>>({ status: 'loading' });
  const [next, setNext] = useState('');
  const [nonce, setNonce] = useState(0);
  const seq = useRef(0);
  const loadRef = useRef<(cursor: string, signal: AbortSignal) => Promise<{ items: T[]; next: string }>>(load);
  loadRef.current = load;

  // A new filter starts at the first page.
  const [lastKey, setLastKey] = useState(key);
  if (key !== lastKey) {
    setLastKey(key);
    setCursors(['']);
  }

  const cursor = cursors[cursors.length - 1];
  useEffect(() => {
    const n = ++seq.current;
    const ctl = new AbortController();
    setState((s) => ({ status: 'loading', items: s.items }));
    loadRef.current(cursor, ctl.signal).then(
      (page) => {
        if (n !== seq.current) return;
        setState({ status: 'ready', items: page.items });
        setNext(page.next);
      },
      (error) => {
        if (n !== seq.current || ctl.signal.aborted) return;
        setState((s) => ({ status: 'error', error, items: s.items }));
      },
    );
    return () => ctl.abort();
  }, [key, cursor, nonce]);

  const nextPage = useCallback(() => {
    if (next) setCursors((c) => [...c, next]);
  }, [next]);
  const prevPage = useCallback(() => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)), []);
  const reload = useCallback(() => setNonce((x) => x + 1), []);
  // update edits the rows on screen after a successful change, without a reload.
  const update = useCallback((f: (items: T[]) => T[]) => {
    setState((s) => (s.status === 'ready' ? { status: 'ready', items: f(s.items) } : s));
  }, []);

  return {
    state,
    page: cursors.length,
    hasNext: state.status === 'ready' && next !== '',
    hasPrev: cursors.length > 1,
    nextPage,
    prevPage,
    reload,
    update,
  };
}

export type CursorList<T> = ReturnType<typeof useCursorList<T>>;

/** useDebounced returns value once it has stopped changing for ms. */
export function useDebounced<T>(value: T, ms = 300): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

// ---- user ids to emails ------------------------------------------------------

// The audit log and the client list name users by id. The emails of the ids
// on screen are looked up once per page load (GET /users/{id}, users:read);
// a deleted user or a refusal leaves the id showing.
const emailCache = new Map<string, Promise<string | null>>();

function lookupEmail(id: string): Promise<string | null> {
  let p = emailCache.get(id);
  if (!p) {
    p = api<AdminUser>('GET', `/api/v1/users/${seg(id)}`).then(
      (u) => u.email,
      () => null,
    );
    emailCache.set(id, p);
  }
  return p;
}

/** useUserEmails maps the given user ids to their emails as they arrive. */
export function useUserEmails(ids: string[], enabled: boolean): Record<string, string> {
  const [emails, setEmails] = useState<Record<string, string>>({});
  const key = enabled ? [...new Set(ids)].sort().join(',') : '';
  useEffect(() => {
    if (!key) return;
    let live = true;
    for (const id of key.split(',')) {
      lookupEmail(id).then((email) => {
        if (live && email) setEmails((m) => (m[id] === email ? m : { ...m, [id]: email }));
      });
    }
    return () => {
      live = false;
    };
  }, [key]);
  return emails;
}
