'use client';
// The signed-in state of the pages, shared by every route through the root
// layout. The access token itself stays in lib/api.ts; this keeps who the
// user is, what they may do, and keeps the token fresh.

import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import { usePathname, useRouter } from 'next/navigation';
import {
  ApiError,
  api,
  clearToken,
  hasToken,
  onTokenChange,
  refresh,
  signOut as apiSignOut,
  tokenExpiresAt,
  type User,
} from './api';
import { Spinner } from '@/components/ui/Spinner';

export type SessionStatus = 'loading' | 'signed-in' | 'signed-out';

export type Session = {
  status: SessionStatus;
  user: User | null;
  permissions: string[];
  /** A message for the sign-in page, e.g. "You were signed out." */
  notice: string | null;
  /** The user pressed "Sign out" (rather than the session ending on its own). */
  signedOutByUser: boolean;
  clearNotice(): void;
  signOut(): Promise<void>;
  /** Reloads the user and permissions with the current token (after sign-in, profile edits, …). */
  reload(): Promise<void>;
};

/** The permissions that open the admin console. */
export const ADMIN_PERMISSIONS = ['users:read', 'users:write', 'roles:manage', 'sessions:manage', 'audit:read', 'clients:manage'];

export function hasAdminPermission(permissions: string[]): boolean {
  return permissions.some((p) => ADMIN_PERMISSIONS.includes(p));
}

const SessionContext = createContext<Session | null>(null);

// Refresh this long before the access token expires, so calls never go out
// with an expired one in the normal case.
const REFRESH_EARLY_MS = 60_000;
const MIN_REFRESH_DELAY_MS = 5_000;

// Ended-session codes: the refresh cookie is no good any more.
const ENDED = new Set(['invalid_refresh_token']);

// refreshAcrossTabs serialises refreshes between tabs of the same browser:
// two tabs presenting the same cookie at once would look like token reuse
// and end the session. Web Locks are everywhere we support; without them
// the in-tab single flight still holds.
function refreshAcrossTabs(): Promise<unknown> {
  const locks = (typeof navigator !== 'undefined' ? (navigator as any).locks : undefined) as
    | { request(name: string, cb: () => Promise<unknown>): Promise<unknown> }
    | undefined;
  if (!locks?.request) return refresh();
  return locks.request('authd-refresh', () => refresh());
}

export function SessionProvider({ children }: { children: React.ReactNode }) {
  const [status, setStatus] = useState<SessionStatus>('loading');
  const [user, setUser] = useState<User | null>(null);
  const [permissions, setPermissions] = useState<string[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  const [signedOutByUser, setSignedOutByUser] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  const dropState = useCallback(() => {
    setUser(null);
    setPermissions([]);
    setStatus('signed-out');
  }, []);

  const reload = useCallback(async () => {
    if (!hasToken()) {
      dropState();
      return;
    }
    try {
      const [me, perms] = await Promise.all([
        api<User>('GET', '/api/v1/users/me'),
        api<{ permissions: string[] }>('GET', '/api/v1/users/me/permissions').catch((e) => {
          // An authd without the endpoint (or a 403) leaves the user
          // without admin links; the console checks on every call anyway.
          if (e instanceof ApiError && e.status !== 401) return { permissions: [] };
          throw e;
        }),
      ]);
      setUser(me);
      setPermissions(Array.isArray(perms?.permissions) ? perms.permissions : []);
      setStatus('signed-in');
      setNotice(null);
      setSignedOutByUser(false);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        clearToken();
        dropState();
        return;
      }
      throw e;
    }
  }, [dropState]);

  // Keep the session in step with the token: schedule the next silent
  // refresh, and drop everything when the server ended the session.
  useEffect(() => {
    const schedule = () => {
      if (timer.current) clearTimeout(timer.current);
      timer.current = null;
      const at = tokenExpiresAt();
      if (at === null) return;
      const delay = Math.max(MIN_REFRESH_DELAY_MS, at - Date.now() - REFRESH_EARLY_MS);
      timer.current = setTimeout(() => {
        refreshAcrossTabs().catch(() => {
          /* handled by the token listener */
        });
      }, delay);
    };
    const off = onTokenChange((t, reason) => {
      if (t) {
        schedule();
        return;
      }
      if (timer.current) clearTimeout(timer.current);
      timer.current = null;
      dropState();
      if (reason && ENDED.has(reason)) setNotice('You were signed out.');
    });
    schedule();
    return () => {
      off();
      if (timer.current) clearTimeout(timer.current);
    };
  }, [dropState]);

  // Restore the session once per page load from the refresh cookie.
  useEffect(() => {
    let live = true;
    (async () => {
      try {
        if (!hasToken()) await refreshAcrossTabs();
        if (live) await reload();
      } catch {
        if (live) dropState();
      }
    })();
    return () => {
      live = false;
    };
  }, [reload, dropState]);

  // Tabs of this browser share one session (one refresh cookie). When one
  // tab's session ends (sign-out, or refused by the server), it tells the
  // others, and each checks at once with a refresh instead of finding out at
  // its next call. The check, not the message, decides: a tab that merely
  // failed to reach authd does not sign the others out.
  useEffect(() => {
    if (typeof BroadcastChannel === 'undefined') return;
    const channel = new BroadcastChannel('authd-session');
    channel.onmessage = (e) => {
      if (e.data?.type === 'ended' && hasToken()) {
        refreshAcrossTabs().catch(() => {
          /* an ended session is handled by the token listener */
        });
      }
    };
    // Only a tab that was signed in has news: a page opened without a
    // session must not make every other tab refresh.
    let signedIn = hasToken();
    const off = onTokenChange((t) => {
      if (!t && signedIn) channel.postMessage({ type: 'ended' });
      signedIn = t !== null;
    });
    return () => {
      off();
      channel.close();
    };
  }, []);

  // A tab coming back from sleep may hold a token that expired meanwhile.
  useEffect(() => {
    const onVisible = () => {
      const at = tokenExpiresAt();
      if (document.visibilityState === 'visible' && at !== null && at - Date.now() < REFRESH_EARLY_MS) {
        refreshAcrossTabs().catch(() => {});
      }
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => document.removeEventListener('visibilitychange', onVisible);
  }, []);

  const signOut = useCallback(async () => {
    setSignedOutByUser(true);
    try {
      await apiSignOut();
    } finally {
      dropState();
    }
  }, [dropState]);

  const clearNotice = useCallback(() => setNotice(null), []);

  const value = useMemo<Session>(
    () => ({ status, user, permissions, notice, signedOutByUser, clearNotice, signOut, reload }),
    [status, user, permissions, notice, signedOutByUser, clearNotice, signOut, reload],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/**
 * Renders its children only for a signed-in user; otherwise sends the
 * browser to the sign-in page with a way back here.
 */
export function RequireSession({ children }: { children: React.ReactNode }) {
  const { status, signedOutByUser } = useSession();
  const router = useRouter();
  const pathname = usePathname();

  useEffect(() => {
    if (status !== 'signed-out') return;
    // After "Sign out" the sign-in page is a fresh start; when the session
    // ended or was never there, signing in should lead back here.
    if (signedOutByUser) {
      router.replace('/');
      return;
    }
    const back = '/ui' + (pathname || '/');
    router.replace('/?redirect_to=' + encodeURIComponent(back));
  }, [status, signedOutByUser, pathname, router]);

  if (status !== 'signed-in') {
    return (
      <div className="flex min-h-dvh items-center justify-center">
        <Spinner label={status === 'loading' ? 'Loading your session…' : 'Redirecting to sign in…'} />
      </div>
    );
  }
  return <>{children}</>;
}
