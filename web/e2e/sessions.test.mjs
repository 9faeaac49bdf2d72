// Revoking a session on the account page signs the other browser out on
// its next call.
import assert from 'node:assert/strict';
import {
  scenario, ui, uniqueEmail, password, register, api, expectHeading, visible, section, signIn,
  expectSignedOut, waitForAPI,
} from './lib.mjs';

scenario('a session revoked from the account page is signed out', async (s) => {
  const email = uniqueEmail('sessions');
  const pw = password();
  const reg = await register(email, pw);
  // End the API's own session: the list should hold the two browsers.
  assert.equal((await api('POST', '/api/v1/auth/logout', { token: reg.access_token, body: { refresh_token: reg.refresh_token } })).status, 204);

  const a = await s.context();
  const b = await s.context();
  await signIn(a.page, email, pw);
  const bLogin = await waitForAPI(b.page, 'POST', '/api/v1/auth/login', () => signIn(b.page, email, pw));
  const bSession = (await bLogin.json()).session_id;
  assert.ok(bSession, 'the login answer has no session_id');

  await a.page.reload();
  await expectHeading(a.page, 'Your account');
  const sessions = section(a.page, 'Sessions');
  await visible(sessions.getByText('This device'), 'the current session marked "This device"');
  const buttons = sessions.getByRole('button', { name: /^Sign out session / });
  await visible(buttons, 'a "Sign out session …" button');
  assert.equal(await buttons.count(), 1, 'one other session expected');
  const name = (await buttons.first().getAttribute('aria-label')) || (await buttons.first().textContent());
  const short = name.replace(/^Sign out session/, '').trim();
  assert.ok(short && bSession.includes(short), `button "${name}" does not name the other session ${bSession}`);
  const res = await waitForAPI(a.page, 'DELETE', '/api/v1/auth/sessions/', () => buttons.first().click());
  assert.equal(res.status(), 204);
  await buttons.first().waitFor({ state: 'detached', timeout: 15_000 });

  await b.page.reload();
  await expectSignedOut(b.page, 'the revoked browser after a reload');
  await a.page.reload();
  await expectHeading(a.page, 'Your account');
});
