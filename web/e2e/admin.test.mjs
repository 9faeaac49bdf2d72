// An administrator finds a user in the console by an email prefix and
// disables them: the user's open page is signed out on its next call and
// their sign-in says the account is disabled.
import assert from 'node:assert/strict';
import {
  scenario, env, ui, uniqueEmail, password, register, findUser, expectHeading, visible, button, signIn,
  expectSignedOut, fillSignIn, expectAlert, waitForAPI, openUser,
} from './lib.mjs';

scenario('an administrator disables a user, whose page is signed out', async (s) => {
  const email = uniqueEmail('disable');
  const pw = password();
  await register(email, pw);

  const user = await s.context();
  await signIn(user.page, email, pw);
  assert.equal(await user.page.getByRole('link', { name: 'Admin console', exact: true }).count(), 0,
    'a user without admin permissions sees the Admin console link');

  const { page } = await s.context();
  await signIn(page, env.adminEmail, env.adminPassword);
  await (await visible(page.getByRole('link', { name: 'Admin console', exact: true }), 'the Admin console link')).click();
  await expectHeading(page, 'Admin console');
  await openUser(page, email);
  const res = await waitForAPI(page, 'PATCH', '/api/v1/users/', () => button(page, 'Disable user').click());
  assert.equal(res.status(), 200);
  await visible(button(page, 'Enable user'), 'the Enable user button once disabled');
  const { user: found } = await findUser(email);
  assert.equal(found.status, 'disabled');

  await user.page.reload();
  await expectSignedOut(user.page, 'the disabled user after a reload');
  await fillSignIn(user.page, email, pw);
  await button(user.page, 'Sign in').click();
  await expectAlert(user.page, /disabled/i, 'the sign-in of a disabled user');
});
