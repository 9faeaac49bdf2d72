import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { load } from './build.mjs';

// A fake authd: records every request and answers per path.
const calls = [];
let refreshes = 0;
let sessionEnded = false;
let refreshDelay = 0;
const json = (status, body, headers = {}) =>
  new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
globalThis.fetch = async (path, init) => {
  calls.push({ path, ...init });
  await new Promise((r) => setTimeout(r, 5)); // let concurrent callers overlap
  switch (path) {
    case '/api/v1/auth/refresh':
      await new Promise((r) => setTimeout(r, refreshDelay));
      if (sessionEnded) return json(401, { error: { code: 'invalid_refresh_token', message: 'ended' } });
      refreshes++;
      return json(200, { access_token: `fresh${refreshes}`, expires_in: 900, session_id: 's1' });
    case '/api/v1/auth/login':
      return json(200, { access_token: 'stale', expires_in: 900, session_id: 's1', user: { id: 'u1' } });
    case '/api/v1/auth/logout':
      return new Response(null, { status: 204 });
    case '/me':
      return init.headers.Authorization === 'Bearer stale'
        ? json(401, { error: { code: 'unauthorized', message: 'expired' } })
        : json(200, { auth: init.headers.Authorization });
    case '/wrong-password':
      return json(401, { error: { code: 'invalid_credentials', message: 'no' } });
    case '/v2':
      return new Response(JSON.stringify({ type: 'urn:authd:error:conflict', title: 'Conflict', status: 409, detail: 'Name taken', code: 'conflict', request_id: 'r2' }), {
        status: 409,
        headers: { 'content-type': 'application/problem+json' },
      });
    case '/limited':
      return json(429, { error: { code: 'too_many_attempts', message: 'slow down', request_id: 'r1' } }, { 'Retry-After': '180' });
    case '/no-content':
      return new Response(null, { status: 204 });
    default:
      return new Response('<html>', { status: 502 });
  }
};

const api = await load('api');
const ended = [];
api.onTokenChange((t, reason) => t || ended.push(reason));

beforeEach(async () => {
  sessionEnded = false;
  refreshDelay = 0;
  await api.signIn('a@example.com', 'pw');
  calls.length = 0;
  refreshes = 0;
});

test('sign-in asks for cookie mode with same-origin credentials', async () => {
  await api.signIn('a@example.com', 'pw');
  assert.equal(calls[0].headers['X-Authd-Refresh'], 'cookie');
  assert.equal(calls[0].credentials, 'same-origin');
  assert.equal(api.currentSessionId(), 's1');
});

test('an expired access token is refreshed once and the call retried', async () => {
  const r = await api.api('GET', '/me');
  assert.equal(r.auth, 'Bearer fresh1');
  assert.equal(refreshes, 1);
  assert.deepEqual(calls.map((c) => c.path), ['/me', '/api/v1/auth/refresh', '/me']);
});

test('other 401s are not retried', async () => {
  await assert.rejects(api.api('POST', '/wrong-password', {}), { code: 'invalid_credentials', status: 401 });
  assert.equal(refreshes, 0);
});

test('concurrent refreshes share one request', async () => {
  const all = await Promise.all([api.refresh(), api.refresh(), api.refresh()]);
  assert.equal(refreshes, 1);
  assert.ok(all.every((t) => t === all[0]));
  assert.equal(calls[0].headers['X-Authd-Refresh'], 'cookie');
});

test('both error shapes and Retry-After are read', async () => {
  await assert.rejects(api.api('GET', '/v2'), { status: 409, code: 'conflict', message: 'Name taken', requestId: 'r2' });
  await assert.rejects(api.api('GET', '/limited'), { status: 429, code: 'too_many_attempts', retryAfter: 180, requestId: 'r1' });
  await assert.rejects(api.api('GET', '/elsewhere'), { status: 502, code: 'internal' });
});

test('204 resolves to undefined', async () => {
  assert.equal(await api.api('POST', '/no-content'), undefined);
});

test('an ended session drops the token and says why', async () => {
  sessionEnded = true;
  await assert.rejects(api.refresh(), { code: 'invalid_refresh_token' });
  assert.equal(api.hasToken(), false);
  assert.equal(ended.at(-1), 'invalid_refresh_token');
});

test('a refresh that fails after a newer sign-in finished keeps the new token', async () => {
  // The page load's restore call (no cookie yet) racing a social code
  // exchange: the exchange's token must survive the refresh's 401.
  api.clearToken();
  sessionEnded = true;
  refreshDelay = 30;
  const restoring = api.refresh();
  await api.signIn('a@example.com', 'pw');
  await assert.rejects(restoring, { code: 'invalid_refresh_token' });
  assert.equal(api.hasToken(), true);
});

test('sign-out sends the bearer token and the cookie header, then forgets the token', async () => {
  await api.signOut();
  const c = calls.at(-1);
  assert.equal(c.path, '/api/v1/auth/logout');
  assert.equal(c.headers.Authorization, 'Bearer stale');
  assert.equal(c.headers['X-Authd-Refresh'], 'cookie');
  assert.equal(api.hasToken(), false);
});
