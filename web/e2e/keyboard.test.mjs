// Sign in with the keyboard alone, with a visible focus ring.
import assert from 'node:assert/strict';
import { scenario, ui, uniqueEmail, password, register, expectHeading } from './lib.mjs';

// tabTo presses Tab until locator has the focus (at most 25 times).
async function tabTo(page, locator, what) {
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press('Tab');
    if (await locator.evaluate((el) => el === document.activeElement)) return;
  }
  throw new Error(`Tab never reached ${what}`);
}

// focusRing says whether the focused element draws an outline or a ring.
async function focusRing(locator) {
  return locator.evaluate((el) => {
    const st = getComputedStyle(el);
    return (st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) > 0) || st.boxShadow !== 'none';
  });
}

scenario('sign in with the keyboard only', async (s) => {
  const email = uniqueEmail('keyboard');
  const pw = password();
  await register(email, pw);
  const { page } = await s.context();
  await page.goto(ui('/'));
  await expectHeading(page, 'Sign in');

  const emailBox = page.getByRole('textbox', { name: 'Email', exact: true });
  await tabTo(page, emailBox, 'the Email field');
  assert.ok(await focusRing(emailBox), 'the focused Email field shows no focus ring');
  await page.keyboard.type(email);
  const pwBox = page.getByLabel('Password', { exact: true });
  await tabTo(page, pwBox, 'the Password field');
  await page.keyboard.type(pw);
  const submit = page.getByRole('button', { name: 'Sign in', exact: true });
  await tabTo(page, submit, 'the Sign in button');
  assert.ok(await focusRing(submit), 'the focused Sign in button shows no focus ring');
  await page.keyboard.press('Enter');
  await expectHeading(page, 'Your account');
});
