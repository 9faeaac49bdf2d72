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
  await visible(page.getByRole('link', { name: 'Forgot password?', exact: true }), 'the forgot-password link');
  await visible(page.getByRole('link', { name: 'Create an account', exact: true }), 'the sign-up link');
  await visible(page.getByRole('button', { name: `Continue with ${env.providerName}`, exact: true }), 'the social button');

  // The watch catches a CSP violation: an inline script, which the policy
  // refuses, is reported (and then forgiven, as this one is ours).
  await page.evaluate(() => {
    const inline = document.createElement('script');
    inline.textContent = 'window.__inlineRan = true';
    document.body.appendChild(inline);
  });
  assert.equal(await page.evaluate(() => window.__inlineRan === true), false, 'the CSP let an inline script run');
  for (let i = 0; i < 50 && !s.problems.some((p) => p.includes('CSP violation')); i++) await page.waitForTimeout(100);
  assert.ok(s.problems.some((p) => p.includes('CSP violation: script-src')), `no CSP violation reported: ${s.problems}`);
  s.problems = s.problems.filter((p) => !/CSP violation|Content Security Policy/.test(p));

  await signIn(page, env.adminEmail, env.adminPassword);
  await visible(page.getByRole('link', { name: 'Admin console', exact: true }), 'the admin console link of an administrator');

  // A page without an icon makes the browser fetch /favicon.ico, outside
  // /ui/: a 404 in the console of every page.
  const icon = await page.locator('link[rel~="icon"]').count();
  assert.ok(icon > 0, 'the pages declare no icon (<link rel="icon">), so every page logs a 404 for /favicon.ico');
});
