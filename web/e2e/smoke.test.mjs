// The harness works: the sign-in page loads clean under its CSP and an
// administrator signs in to the account page.
import assert from 'node:assert/strict';
import { scenario, env, ui, signIn, expectHeading, visible } from './lib.mjs';

scenario('the sign-in page loads and an administrator signs in', async (s) => {
  const { page } = await s.context();
  const res = await page.goto(ui('/'));
  assert.equal(res.status(), 200);
  const csp = res.headers()['content-security-policy'] || '';
  assert.match(csp, /script-src 'self'/, `CSP of /ui/: ${csp}`);
  assert.match(csp, /frame-ancestors 'none'/, `CSP of /ui/: ${csp}`);
  await expectHeading(page, 'Sign in');
  // A page without an icon makes the browser fetch /favicon.ico, outside
  // /ui/: a 404 in the console of every page.
  const icon = await page.locator('link[rel~="icon"]').count();
  assert.ok(icon > 0, 'the pages declare no icon (<link rel="icon">), so every page logs a 404 for /favicon.ico');
  await visible(page.getByRole('link', { name: 'Forgot password?', exact: true }), 'the forgot-password link');
  await visible(page.getByRole('link', { name: 'Create an account', exact: true }), 'the sign-up link');
  await visible(page.getByRole('button', { name: `Continue with ${env.providerName}`, exact: true }), 'the social button');
  await signIn(page, env.adminEmail, env.adminPassword);
  await visible(page.getByRole('link', { name: 'Admin console', exact: true }), 'the admin console link of an administrator');
});
