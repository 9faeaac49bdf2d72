// Social sign-in with the OpenID Provider creates an account; a password
// account links the provider's identity on the account page, signs in
// with the provider onto the same account, and unlinks it.
import assert from 'node:assert/strict';
import {
  scenario, env, ui, expectAccount, uniqueEmail, password, register, login, apiOK, findUser, expectHeading, visible,
  button, signIn, signOut, opLogin, section,
} from './lib.mjs';

async function continueWithProvider(page) {
  await page.goto(ui('/'));
  await expectHeading(page, 'Sign in');
  await button(page, `Continue with ${env.providerName}`).click();
  await opLogin(page);
  await expectAccount(page, 'after the social sign-in');
  const url = new URL(page.url());
  assert.ok(!url.searchParams.has('code'), `the code stays in the URL: ${page.url()}`);
}

scenario('social sign-in creates an account', async (s) => {
  await freeProviderUser();
  const { page } = await s.context();
  await continueWithProvider(page);
  await visible(page.getByText(env.opEmail), `the provider's address ${env.opEmail} on the account page`);
  const verifier = await page.evaluate(() => Object.values(sessionStorage).join(' '));
  assert.doesNotMatch(verifier, /eyJ/, 'a token in sessionStorage');

  const { user } = await findUser(env.opEmail);
  assert.ok(user, `no account for ${env.opEmail} after the social sign-in`);
});

// freeProviderUser deletes the account the provider's one user signed in
// to, if any, so that its identity can be linked to another account.
async function freeProviderUser() {
  const { token, user } = await findUser(env.opEmail);
  if (user) await apiOK('DELETE', `/api/v1/users/${user.id}`, { token }, 204);
}

scenario('a password account links the provider, signs in with it, and unlinks it', async (s) => {
  const email = uniqueEmail('link');
  const pw = password();
  await register(email, pw);
  await freeProviderUser();
  const { page } = await s.context();
  await signIn(page, email, pw);

  const linked = section(page, 'Linked accounts');
  await visible(linked, 'the Linked accounts section');
  await button(linked, `Link ${env.providerName}`).click();
  await opLogin(page);
  await expectAccount(page, 'back from linking');
  assert.equal(new URL(page.url()).search, '', `the linked= answer stays in the URL: ${page.url()}`);
  await visible(button(page, `Unlink ${env.providerName}`), 'the unlink button after linking');
  const token = (await login(email, pw)).access_token;
  const ids = await apiOK('GET', '/api/v1/oauth/identities', { token });
  assert.deepEqual(ids.identities.map((i) => i.provider), [env.provider], JSON.stringify(ids));

  await signOut(page);
  await continueWithProvider(page);
  await visible(page.getByText(email), `the password account ${email} after signing in with the provider`);

  await button(page, `Unlink ${env.providerName}`).click();
  await visible(button(page, `Link ${env.providerName}`), 'the link button after unlinking');
  const after = await apiOK('GET', '/api/v1/oauth/identities', { token });
  assert.deepEqual(after.identities, [], JSON.stringify(after));
});
