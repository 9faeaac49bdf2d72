// The pages' only way to talk to authd: same-origin JSON over fetch.
//
// Token handling follows the "cookie mode" of the contract: every call that
// signs in or refreshes sends `X-Authd-Refresh: cookie`, so authd keeps the
// refresh token in an HttpOnly cookie the page never sees. The access token
// lives in this module only (never in storage readable later), which is why
// a reload has to call refresh() to get one back.

export type User = {
  id: string;
  email: string;
  email_verified: boolean;
  name: string;
  status: string;
  roles: string[];
  has_password: boolean;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
};

/** A signed-in session as both GET /auth/sessions (one's own) and GET /users/{id}/sessions (admin) list them. */
export type SessionInfo = {
  id: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ip: string;
  user_agent: string;
  current: boolean;
};

export type SessionsPage = { sessions: SessionInfo[]; next_cursor: string };

export type Tokens = {
  user?: User;
  access_token: string;
  token_type?: string;
  expires_in: number;
  session_id: string;
};

export class ApiError extends Error {
  status: number;
  code: string;
  retryAfter?: number;
  requestId?: string;

  constructor(status: number, code: string, message: string, retryAfter?: number, requestId?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.requestId = requestId;
  }
}

const REFRESH_HEADER = { 'X-Authd-Refresh': 'cookie' };

type TokenState = { accessToken: string; expiresAt: number; sessionId: string } | null;

let token: TokenState = null;
const listeners = new Set<(t: TokenState, reason?: string) => void>();

/** The session id of the in-memory token, if any. */
export function currentSessionId(): string | null {
  return token?.sessionId ?? null;
}

/** Milliseconds since the epoch when the access token expires, or null. */
export function tokenExpiresAt(): number | null {
  return token?.expiresAt ?? null;
}

export function hasToken(): boolean {
  return token !== null;
}

/**
 * Subscribe to token changes. `reason` is the error code that ended the
 * session (e.g. invalid_refresh_token) when it was ended by the server.
 */
export function onTokenChange(fn: (t: TokenState, reason?: string) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// generation counts the tokens this page has held. A refresh whose answer
// arrives after a newer token was set (a sign-in or a social code exchange
// that finished first) must not overwrite or drop that token.
let generation = 0;

function setToken(t: TokenState, reason?: string) {
  token = t;
  generation++;
  for (const fn of listeners) fn(t, reason);
}

function storeTokens(t: Tokens) {
  setToken({
    accessToken: t.access_token,
    // expires_in is in seconds from now; the clock skew between us and the
    // server does not matter because it is a duration.
    expiresAt: Date.now() + t.expires_in * 1000,
    sessionId: t.session_id,
  });
}

/** Drop the in-memory token (the cookie is the server's to clear). */
export function clearToken(reason?: string) {
  setToken(null, reason);
}

function parseRetryAfter(h: string | null): number | undefined {
  if (!h) return undefined;
  const n = Number(h);
  if (Number.isFinite(n) && n >= 0) return Math.ceil(n);
  const at = Date.parse(h);
  if (!Number.isNaN(at)) return Math.max(0, Math.ceil((at - Date.now()) / 1000));
  return undefined;
}

const FALLBACK_CODES: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  429: 'too_many_attempts',
  503: 'unavailable',
};

// errorFrom reads both error shapes: v1 `{error:{code,message,request_id}}`
// and v2 problem+json `{type,title,status,detail,code,request_id}`.
async function errorFrom(res: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(res.headers.get('Retry-After'));
  let body: any = null;
  try {
    const text = await res.text();
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  let code = '';
  let message = '';
  let requestId: string | undefined;
  if (body && typeof body === 'object') {
    if (body.error && typeof body.error === 'object') {
      code = String(body.error.code ?? '');
      message = String(body.error.message ?? '');
      requestId = body.error.request_id || undefined;
    } else if (typeof body.code === 'string' || typeof body.detail === 'string') {
      code = String(body.code ?? '');
      message = String(body.detail || body.title || '');
      requestId = body.request_id || undefined;
    } else if (typeof body.error === 'string') {
      // RFC 6749 errors of the token endpoint.
      code = body.error;
      message = String(body.error_description ?? '');
    }
  }
  if (!code) code = FALLBACK_CODES[res.status] ?? (res.status >= 500 ? 'internal' : 'error');
  if (!message) message = res.statusText || `Request failed (${res.status})`;
  return new ApiError(res.status, code, message, retryAfter, requestId);
}

type RawOpts = { signal?: AbortSignal; auth?: boolean; refreshHeader?: boolean };

async function raw<T>(method: string, path: string, body: unknown, opts: RawOpts): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.refreshHeader) Object.assign(headers, REFRESH_HEADER);
  if (opts.auth && token) headers.Authorization = `Bearer ${token.accessToken}`;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: opts.signal,
    });
  } catch (e) {
    if ((e as Error)?.name === 'AbortError') throw e;
    throw new ApiError(0, 'network_error', 'Could not reach the server. Check your connection and try again.');
  }
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, 'invalid_response', 'The server sent an answer that could not be read.');
  }
}

// withRetry runs a call with the access token; after a 401 `unauthorized`
// (the token expired in between) it refreshes once and tries again.
async function withRetry<T>(method: string, path: string, body: unknown, opts: RawOpts): Promise<T> {
  const hadToken = token !== null;
  try {
    return await raw<T>(method, path, body, { ...opts, auth: true });
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401 || e.code !== 'unauthorized' || !hadToken) throw e;
  }
  await refresh();
  return raw<T>(method, path, body, { ...opts, auth: true });
}

/**
 * Calls authd's API with the in-memory access token, refreshing once after
 * a 401 `unauthorized`. Errors are thrown as ApiError (both the v1 and the
 * v2 problem+json shapes); 204 resolves to undefined.
 */
export function api<T>(method: string, path: string, body?: unknown, opts?: { signal?: AbortSignal }): Promise<T> {
  return withRetry<T>(method, path, body, { signal: opts?.signal });
}

async function signInWith(path: string, body: unknown): Promise<Tokens> {
  const t = await raw<Tokens>('POST', path, body, { refreshHeader: true });
  storeTokens(t);
  return t;
}

export function signIn(email: string, password: string): Promise<Tokens> {
  return signInWith('/api/v1/auth/login', { email, password });
}

export function signUp(email: string, password: string, name: string): Promise<Tokens> {
  return signInWith('/api/v1/auth/register', { email, password, name });
}

export function exchangeSocialCode(code: string, verifier: string | null): Promise<Tokens> {
  const body: Record<string, string> = { code };
  if (verifier) body.code_verifier = verifier;
  return signInWith('/api/v1/oauth/exchange', body);
}

let inFlight: Promise<Tokens> | null = null;

/**
 * Trades the refresh cookie for a new access token. Single-flight: two
 * refreshes with the same cookie would look like refresh-token reuse to
 * authd, which ends the whole session, so concurrent callers share one.
 * When the session is over (invalid_refresh_token), the token is dropped
 * and listeners are told why.
 */
export function refresh(): Promise<Tokens> {
  if (inFlight) return inFlight;
  const startedAt = generation;
  inFlight = (async () => {
    try {
      const t = await raw<Tokens>('POST', '/api/v1/auth/refresh', {}, { refreshHeader: true });
      if (generation === startedAt) storeTokens(t);
      return t;
    } catch (e) {
      const superseded = generation !== startedAt;
      if (!superseded && e instanceof ApiError && (e.status === 401 || e.status === 400)) {
        clearToken(token ? e.code : undefined);
      }
      throw e;
    } finally {
      inFlight = null;
    }
  })();
  return inFlight;
}

async function endSession(path: string) {
  try {
    if (token) await withRetry<void>('POST', path, {}, { refreshHeader: true });
  } catch (e) {
    // An already-ended session is signed out all the same.
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
  } finally {
    clearToken();
  }
}

export function signOut(): Promise<void> {
  return endSession('/api/v1/auth/logout');
}

export function signOutEverywhere(): Promise<void> {
  return endSession('/api/v1/auth/logout-all');
}
