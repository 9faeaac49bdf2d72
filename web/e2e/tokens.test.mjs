// Token handling in cookie mode: the refresh token is an HttpOnly cookie,
// the access token lives in memory only, a reload restores the session,
// and replaying an old refresh token ends it.
import assert from 'node:assert/strict';
import {
  scenario, uniqueEmail, password, register, api, signIn, expectHeading, expectSignedOut, refreshCookie,
  section, button, waitForAPI,
} from './lib.mjs';

async function storageHolds(page, needle) {
  return page.evaluate((n) => {
    const all = [localStorage, sessionStorage].flatMap((st) => Object.keys(st).map((k) => k + '=' + st.getItem(k)));
    return all.some((v) => v.includes(n)) || document.cookie.includes(n);
  }, needle);
}

scenario('tokens stay out of reach, a reload restores the session, reuse signs out', async (s) => {
  const email = uniqueEmail('tokens');
  const pw = password();
  await register(email, pw);
  const { context, page } = await s.context();

  const login = await waitForAPI(page, 'POST', '/api/v1/auth/login', () => signIn(page, email, pw));
  const sent = await login.request().allHeaders();
  assert.equal(sent['x-authd-refresh'], 'cookie', 'the sign-in did not ask for cookie mode');
  const body = await login.json();
  assert.ok(body.access_token, 'no access token in the login answer');
  assert.equal(body.refresh_token, undefined, 'the login answer carries the refresh token in cookie mode');
  assert.equal(await storageHolds(page, body.access_token), false, 'the access token is in storage or document.cookie');

  const first = await refreshCookie(context);
  assert.ok(first, 'no refresh cookie');
  assert.equal(first.httpOnly, true, 'the refresh cookie is not HttpOnly');
  assert.equal(first.sameSite, 'Strict', 'the refresh cookie is not SameSite=Strict');
  assert.equal(first.path.replace(/\/$/, ''), '/api/v1/auth', `the refresh cookie's path is ${first.path}`);

  // A reload forgets the access token; the cookie restores the session.
  const restore = await waitForAPI(page, 'POST', '/api/v1/auth/refresh', () => page.reload());
  assert.equal(restore.status(), 200, 'the refresh on load failed');
  assert.equal((await restore.json()).refresh_token, undefined, 'the refresh answer carries the refresh token');
  await expectHeading(page, 'Your account');
  const second = await refreshCookie(context);
  assert.notEqual(second.value, first.value, 'the refresh did not rotate the cookie');

  // Replaying the first (rotated) refresh token is reuse: authd ends the
  // whole session, and the page's next call finds out.
  const replay = await api('POST', '/api/v1/auth/refresh', { body: { refresh_token: first.value } });
  assert.equal(replay.status, 401, `the replay answered ${replay.status} ${replay.text}`);
  const profile = section(page, 'Profile');
  await profile.getByRole('textbox', { name: 'Name', exact: true }).fill('After reuse');
  await button(profile, 'Save profile').click();
  await expectSignedOut(page, 'the page after refresh-token reuse');
  await page.getByText(/signed out/i).first().waitFor({ timeout: 15_000 });
});
