'use client';
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, currentSessionId, type SessionInfo, type SessionsPage } from '@/lib/api';
import { dateTime, describeUserAgent, relativeTime, shortId } from '@/lib/format';
import { errorMessage } from '@/lib/messages';
import { Alert } from '@/components/ui/Alert';
import { Button } from '@/components/ui/Button';
import { Spinner } from '@/components/ui/Spinner';
import { Section } from './Section';

const PAGE = 50;

async function fetchPage(cursor = ''): Promise<SessionsPage> {
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (cursor) q.set('cursor', cursor);
  return api<SessionsPage>('GET', `/api/v1/auth/sessions?${q}`);
}

function isCurrent(s: SessionInfo): boolean {
  return s.current || s.id === currentSessionId();
}

function DeviceIcon({ ua }: { ua: string }) {
  const phone = /iPhone|Android.*Mobile|Mobile Safari/.test(ua);
  return (
    <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.6" aria-hidden="true" className="mt-0.5 size-5 shrink-0 text-zinc-500 dark:text-zinc-400">
      {phone ? (
        <>
          <rect x="7" y="2.5" width="10" height="19" rx="2" />
          <path d="M11 18.5h2" strokeLinecap="round" />
        </>
      ) : (
        <>
          <rect x="3" y="4" width="18" height="12" rx="1.5" />
          <path d="M8 20h8M12 16v4" strokeLinecap="round" />
        </>
      )}
    </svg>
  );
}

/** The caller's sessions, with "This device" marked and a way to end the others. */
export function SessionsSection({ version }: { version: number }) {
  const [rows, setRows] = useState<SessionInfo[] | null>(null);
  const [cursor, setCursor] = useState('');
  const [loadError, setLoadError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null); // a session id, 'all' or 'more'

  const load = useCallback(async () => {
    try {
      const p = await fetchPage();
      setRows(p.sessions ?? []);
      setCursor(p.next_cursor ?? '');
      setLoadError(null);
    } catch (e) {
      setLoadError(errorMessage(e));
    }
  }, []);

  // Reload after a password change (which ends the other sessions).
  useEffect(() => {
    load();
  }, [load, version]);

  const more = async () => {
    setBusy('more');
    try {
      const p = await fetchPage(cursor);
      setRows((r) => [...(r ?? []), ...(p.sessions ?? [])]);
      setCursor(p.next_cursor ?? '');
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  const revoke = async (s: SessionInfo) => {
    setBusy(s.id);
    setError(null);
    setMessage(null);
    try {
      await api('DELETE', `/api/v1/auth/sessions/${encodeURIComponent(s.id)}`);
      setMessage(`Signed out ${describeUserAgent(s.user_agent)}.`);
    } catch (e) {
      // Already gone is what was wanted.
      if (!(e instanceof ApiError && e.status === 404)) setError(errorMessage(e));
    } finally {
      setBusy(null);
      await load();
    }
  };

  // One request ends every other session, whatever the list shows: it may
  // have pages, and a device may have signed in since it was loaded.
  const revokeOthers = async () => {
    setBusy('all');
    setError(null);
    setMessage(null);
    try {
      await api('POST', '/api/v1/auth/logout-others');
      setMessage('Signed out of every other session.');
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(null);
      await load();
    }
  };

  const others = rows?.filter((s) => !isCurrent(s)) ?? [];

  return (
    <Section title="Sessions" description="Devices where you are signed in. Sign out any you do not recognise, then change your password.">
      {loadError && !rows && (
        <Alert tone="error">
          {loadError}{' '}
          <button type="button" className="font-semibold underline" onClick={load}>
            Try again
          </button>
        </Alert>
      )}
      {!rows && !loadError && <Spinner label="Loading sessions…" />}
      {rows && (
        <div className="space-y-4">
          {error && <Alert tone="error">{error}</Alert>}
          {message && <Alert tone="success">{message}</Alert>}
          <ul className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800">
            {rows.map((s) => {
              const current = isCurrent(s);
              return (
                <li key={s.id} className="flex items-start gap-3 p-3.5">
                  <DeviceIcon ua={s.user_agent} />
                  <div className="flex min-w-0 flex-1 flex-col gap-2 sm:flex-row sm:items-start">
                    <div className="min-w-0 flex-1 text-sm">
                      <p className="flex flex-wrap items-center gap-2 font-medium text-zinc-900 dark:text-zinc-100">
                        {describeUserAgent(s.user_agent)}
                        {current && (
                          <span className="rounded-full bg-brand-soft px-2 py-0.5 text-xs font-semibold text-brand-ink dark:text-brand-ink-dark">This device</span>
                        )}
                      </p>
                      <p className="mt-0.5 text-zinc-600 dark:text-zinc-400">
                        {s.ip || 'Unknown IP'} · <span title={dateTime(s.last_seen_at)}>{current ? 'Active now' : `Last seen ${relativeTime(s.last_seen_at)}`}</span>
                      </p>
                      <p className="text-xs text-zinc-600 dark:text-zinc-400">
                        Signed in {dateTime(s.created_at)} · Session {shortId(s.id)}
                      </p>
                    </div>
                    {!current && (
                      <Button
                        variant="secondary"
                        className="self-start"
                        aria-label={`Sign out session ${shortId(s.id)}`}
                        pending={busy === s.id}
                        disabled={busy !== null}
                        onClick={() => revoke(s)}
                      >
                        Sign out
                      </Button>
                    )}
                  </div>
                </li>
              );
            })}
          </ul>
          <div className="flex flex-wrap gap-3">
            {cursor && (
              <Button variant="ghost" pending={busy === 'more'} disabled={busy !== null} onClick={more}>
                Show more sessions
              </Button>
            )}
            <Button variant="secondary" pending={busy === 'all'} disabled={busy !== null || (others.length === 0 && !cursor)} onClick={revokeOthers}>
              Sign out all other sessions
            </Button>
          </div>
        </div>
      )}
    </Section>
  );
}
