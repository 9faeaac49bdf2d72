// Repeated wrong passwords lock the account (for this client) and the
// page says how long to wait.
import assert from 'node:assert/strict';
import { scenario, ui, uniqueEmail, password, register, fillSignIn, button, expectAlert, waitForAPI } from './lib.mjs';

scenario('repeated wrong passwords show the lockout with the wait', async (s) => {
  const email = uniqueEmail('lockout');
  const pw = password();
  await register(email, pw);
  const { page } = await s.context();
  await page.goto(ui('/'));

  let wrong = 0;
  let status = 0;
  while (status !== 429 && wrong < 10) {
    await fillSignIn(page, email, `wrong ${wrong} ${pw}`);
    const res = await waitForAPI(page, 'POST', '/api/v1/auth/login', () => button(page, 'Sign in').click());
    status = res.status();
    if (status === 401) {
      wrong++;
      await expectAlert(page, /Email or password is incorrect/, `wrong password ${wrong}`);
    }
  }
  assert.equal(status, 429, `no lockout after ${wrong} wrong passwords`);
  assert.ok(wrong >= 5, `locked out after ${wrong} wrong passwords`);
  const alert = await expectAlert(page, /too many attempts/i, 'the lockout');
  assert.match(await alert.innerText(), /try again in \d+ (second|minute|hour)s?/i, 'the lockout message gives no wait');

  // The right password does not get through the lockout either.
  await fillSignIn(page, email, pw);
  const res = await waitForAPI(page, 'POST', '/api/v1/auth/login', () => button(page, 'Sign in').click());
  assert.equal(res.status(), 429);
  await expectAlert(page, /too many attempts/i, 'the lockout with the right password');
});
