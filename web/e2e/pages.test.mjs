// Every page, in light and dark: no serious or critical axe-core
// violation of WCAG 2.0/2.1 A and AA, and (in light) screenshots at
// 1280×800 and 360×740 into ARTIFACTS_DIR as <page>-<width>.png.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import {
  scenario, env, ui, expectHeading, signIn, visible, waitForAPI, openUser,
} from './lib.mjs';

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const SIZES = [{ width: 1280, height: 800 }, { width: 360, height: 740 }];

// settle waits until the page has stopped fetching and painting.
async function settle(page) {
  await page.waitForLoadState('networkidle', { timeout: 15_000 }).catch(() => {});
  await page.evaluate(() => document.fonts.ready);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

// check runs axe on page (named name) and, if shots, takes its screenshots.
async function check(page, name, scheme, shots, violations) {
  await settle(page);
  const results = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  for (const v of results.violations) {
    if (v.impact !== 'serious' && v.impact !== 'critical') continue;
    const nodes = v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`).join('\n');
    violations.push(`${name} (${scheme}): ${v.impact} ${v.id}: ${v.help}\n${nodes}`);
  }
  if (!shots) return;
  const original = page.viewportSize();
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await settle(page);
    await page.screenshot({ path: join(env.artifacts, `${name}-${size.width}.png`) });
  }
  await page.setViewportSize(original);
}

// adminTab opens the console's tab (or link) called name.
async function adminTab(page, name) {
  const tab = page.getByRole('tab', { name, exact: true }).or(page.getByRole('link', { name, exact: true }));
  await (await visible(tab, `the admin tab "${name}"`)).click();
}

for (const scheme of ['light', 'dark']) {
  scenario(`every page passes axe (${scheme})`, async (s) => {
    const shots = scheme === 'light';
    const violations = [];
    const { page } = await s.context({ colorScheme: scheme });
    const visit = async (path, name, headingName) => {
      await page.goto(ui(path));
      await expectHeading(page, headingName);
      await check(page, name, scheme, shots, violations);
    };

    await visit('/', 'sign-in', 'Sign in');
    await visit('/sign-up/', 'sign-up', 'Create your account');
    await visit('/forgot-password/', 'forgot-password', 'Reset your password');
    await visit('/reset-password/#token=not-a-real-token', 'reset-password', 'Choose a new password');
    // An unknown token: the page shows why it cannot verify.
    await page.goto(ui('/verify-email/#token=not-a-real-token'));
    await expectHeading(page, 'Verify your email');
    await visible(page.getByRole('alert'), 'the invalid-link error on the verify page');
    await check(page, 'verify-email', scheme, shots, violations);

    s.allow(/\/ui\/no-such-page\//);
    const missing = await page.goto(ui('/no-such-page/'));
    assert.equal(missing.status(), 404, 'an unknown page is not a 404');
    await settle(page);
    await check(page, 'not-found', scheme, shots, violations);

    await signIn(page, env.adminEmail, env.adminPassword);
    await check(page, 'account', scheme, shots, violations);

    await (await visible(page.getByRole('link', { name: 'Admin console', exact: true }), 'the Admin console link')).click();
    await expectHeading(page, 'Admin console');
    await adminTab(page, 'Users');
    await visible(page.getByRole('searchbox', { name: 'Search by email', exact: true }), 'the users search');
    await check(page, 'admin-users', scheme, shots, violations);
    await openUser(page, env.adminEmail);
    await check(page, 'admin-user', scheme, shots, violations);
    await adminTab(page, 'Roles');
    await visible(page.getByRole('button', { name: 'New role', exact: true }), 'the New role button');
    await check(page, 'admin-roles', scheme, shots, violations);
    await waitForAPI(page, 'GET', '/api/v1/audit', () => adminTab(page, 'Audit log'));
    await check(page, 'admin-audit', scheme, shots, violations);
    await adminTab(page, 'Service clients');
    await visible(page.getByRole('button', { name: 'New client', exact: true }), 'the New client button');
    await check(page, 'admin-clients', scheme, shots, violations);

    assert.deepEqual(violations, [], `axe-core found serious or critical violations:\n${violations.join('\n')}`);
  });
}
