// Cookie mode resists cross-site request forgery from a page that is
// same-site (127.0.0.1) but cross-origin (another port), where SameSite
// alone would let the browser send the refresh cookie along.
import assert from 'node:assert/strict';
import { scenario, env, ui, uniqueEmail, password, register, signIn, expectHeading, refreshCookie, visible } from './lib.mjs';

// formAttack opens the attacker's page at path in context and returns the
// response authd gave to the request it caused.
async function formAttack(context, path, target) {
  const page = await context.newPage();
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url() === env.authd + target, { timeout: 15_000 }),
    page.goto(env.attacker + path),
  ]);
  const sent = await res.request().allHeaders();
  const body = await res.text().catch(() => '');
  await page.close();
  return { status: res.status(), body, cookie: sent.cookie || '', origin: sent.origin || '' };
}

scenario('forged form posts and cross-origin fetches are refused', async (s) => {
  const email = uniqueEmail('csrf');
  const pw = password();
  await register(email, pw);
  const { context, page } = await s.context();
  await signIn(page, email, pw);
  const before = await refreshCookie(context);
  assert.ok(before, 'no refresh cookie after signing in');

  const refresh = await formAttack(context, '/form/refresh', '/api/v1/auth/refresh');
  // The attack is only meaningful if the browser did send the cookie.
  assert.match(refresh.cookie, new RegExp(`${before.name}=`), `the forged refresh went without the cookie (${refresh.cookie}): the test proves nothing`);
  assert.equal(refresh.origin, env.attacker);
  assert.equal(refresh.status, 403, `a forged refresh was not refused: ${refresh.body}`);
  assert.match(refresh.body, /"code":"csrf_failed"/, `the forged refresh's answer: ${refresh.body}`);

  const logout = await formAttack(context, '/form/logout', '/api/v1/auth/logout');
  // A form can send the cookie but no bearer token: the logout is
  // refused, as unauthenticated (401) or as cross-origin (403).
  assert.ok(logout.status === 403 || logout.status === 401, `a forged logout answered ${logout.status}: ${logout.body}`);

  const fetched = await context.newPage();
  await fetched.goto(env.attacker + '/fetch/refresh');
  const result = fetched.locator('#result');
  await visible(fetched.locator('#result:not(:text("pending"))'), 'the attacker fetch result');
  const text = await result.innerText();
  assert.ok(text.startsWith('blocked') || text.startsWith('status 403'), `the cross-origin fetch got: ${text}`);
  await fetched.close();

  const after = await refreshCookie(context);
  assert.equal(after?.value, before.value, 'the attacks changed the refresh cookie');
  // The victim's session still works.
  await page.reload();
  await expectHeading(page, 'Your account');
});

scenario('no token is readable by scripts after sign-in', async (s) => {
  const email = uniqueEmail('storage');
  const pw = password();
  await register(email, pw);
  const { context, page } = await s.context();
  await signIn(page, email, pw);
  const cookie = await refreshCookie(context);
  assert.ok(cookie, 'no refresh cookie');
  const seen = await page.evaluate(() => ({
    cookie: document.cookie,
    storage: [localStorage, sessionStorage].flatMap((st) => Object.keys(st).map((k) => `${k}=${st.getItem(k)}`)),
  }));
  assert.ok(!seen.cookie.includes(cookie.value) && !seen.cookie.includes(cookie.name), `document.cookie shows the refresh token: ${seen.cookie}`);
  for (const item of seen.storage) {
    assert.ok(!item.includes(cookie.value), `storage holds the refresh token: ${item}`);
    assert.doesNotMatch(item, /eyJ[\w-]+\.[\w-]+\./, `storage holds a token: ${item}`);
  }
});
