// Forgot password → the mailed reset link → a new password → sign in with
// it; the old one fails.
import assert from 'node:assert/strict';
import {
  scenario, ui, uniqueEmail, password, register, mailLink, expectHeading, visible, button,
  fillSignIn, expectAlert, waitForAPI,
} from './lib.mjs';

async function requestReset(page, email) {
  await page.goto(ui('/'));
  await expectHeading(page, 'Sign in');
  await page.getByRole('link', { name: 'Forgot password?', exact: true }).click();
  await expectHeading(page, 'Reset your password');
  await page.getByRole('textbox', { name: 'Email', exact: true }).fill(email);
  const res = await waitForAPI(page, 'POST', '/api/v1/auth/password/forgot', () => button(page, 'Send reset link').click());
  assert.equal(res.status(), 202);
  return (await visible(page.getByRole('status'), 'the reset-link message')).innerText();
}

scenario('forgot password, reset through the mailed link, sign in with the new password', async (s) => {
  const email = uniqueEmail('reset');
  const old = password();
  const fresh = password();
  await register(email, old);
  const { page } = await s.context();

  const known = await requestReset(page, email);
  // The same answer for an address nobody has: no enumeration.
  const unknown = await requestReset(page, uniqueEmail('nobody'));
  assert.equal(unknown.replace(/\S+@\S+/g, ''), known.replace(/\S+@\S+/g, ''), 'known and unknown addresses are told apart');

  const link = await mailLink(email, '/reset-password');
  assert.ok(link.startsWith(ui('/reset-password')), `reset link ${link}`);
  await page.goto(link);
  await expectHeading(page, 'Choose a new password');
  assert.equal(new URL(page.url()).hash, '', `the token stays in the URL: ${page.url()}`);
  await page.getByLabel('New password', { exact: true }).fill(fresh);
  const res = await waitForAPI(page, 'POST', '/api/v1/auth/password/reset', () => button(page, 'Set password').click());
  assert.equal(res.status(), 204);
  await (await visible(page.getByRole('link', { name: 'Sign in', exact: true }), 'the sign-in link after the reset')).click();

  await fillSignIn(page, email, old);
  await button(page, 'Sign in').click();
  await expectAlert(page, /Email or password is incorrect/, 'the old password');
  await fillSignIn(page, email, fresh);
  await button(page, 'Sign in').click();
  await expectHeading(page, 'Your account');

  // The link works once (in a browser that is not signed in).
  const second = (await s.context()).page;
  await second.goto(link);
  await expectHeading(second, 'Choose a new password');
  await second.getByLabel('New password', { exact: true }).fill(password());
  const again = await waitForAPI(second, 'POST', '/api/v1/auth/password/reset', () => button(second, 'Set password').click());
  assert.equal(again.status(), 400);
  await visible(second.getByRole('alert'), 'the used-link error');
});
