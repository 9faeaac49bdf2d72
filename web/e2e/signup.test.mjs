// Sign up → verify the address through the mailed link → sign out → sign
// in → change the password: a second browser signed in as the same user is
// signed out on its next call.
import assert from 'node:assert/strict';
import {
  scenario, ui, uniqueEmail, password, mailLink, expectHeading, visible, signIn, signOut,
  section, button, waitForAPI, expectSignedOut, login, apiOK, api,
} from './lib.mjs';

scenario('sign up, verify, sign out, sign in, change the password; the other session ends', async (s) => {
  const email = uniqueEmail('signup');
  const first = password();
  const second = password();
  const { page } = await s.context();

  await page.goto(ui('/'));
  await expectHeading(page, 'Sign in');
  await page.getByRole('link', { name: 'Create an account', exact: true }).click();
  await expectHeading(page, 'Create your account');
  await page.getByRole('textbox', { name: 'Name', exact: true }).fill('Sign Up');
  await page.getByRole('textbox', { name: 'Email', exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(first);
  await visible(page.getByRole('status'), 'the live password guidance');
  const created = await waitForAPI(page, 'POST', '/api/v1/auth/register', () =>
    button(page, 'Create account').click());
  assert.equal(created.status(), 201, `register: ${created.status()}`);
  await expectHeading(page, 'Your account');

  const link = await mailLink(email, '/verify-email');
  assert.ok(link.startsWith(ui('/verify-email')), `verification link ${link}`);
  assert.match(new URL(link).hash, /^#token=.+/, `verification link ${link}`);
  await page.goto(link);
  await expectHeading(page, 'Verify your email');
  await visible(page.getByRole('status').filter({ hasText: 'Your email is verified' }), 'the verified message');
  assert.equal(new URL(page.url()).hash, '', `the token stays in the URL: ${page.url()}`);
  const me = await apiOK('GET', '/api/v1/users/me', { token: (await login(email, first)).access_token });
  assert.equal(me.email_verified, true, 'the address is not verified server-side');

  await page.goto(ui('/account/'));
  await expectHeading(page, 'Your account');
  await signOut(page);
  await signIn(page, email, first);

  const other = await s.context();
  await signIn(other.page, email, first);

  const pw = section(page, 'Password');
  await pw.getByLabel('Current password', { exact: true }).fill(first);
  await pw.getByLabel('New password', { exact: true }).fill(second);
  const changed = await waitForAPI(page, 'POST', '/api/v1/auth/password/change', () =>
    button(pw, 'Change password').click());
  assert.equal(changed.status(), 204, `password change: ${changed.status()}`);
  // This browser stays signed in.
  await page.reload();
  await expectHeading(page, 'Your account');

  // The other browser's next call (saving its profile) finds its session
  // ended and signs it out.
  const profile = section(other.page, 'Profile');
  await profile.getByRole('textbox', { name: 'Name', exact: true }).fill('Renamed');
  await button(profile, 'Save profile').click();
  await expectSignedOut(other.page, 'the other browser after the password change');

  assert.equal((await api('POST', '/api/v1/auth/login', { body: { email, password: first } })).status, 401, 'the old password still works');
  await login(email, second);
});
