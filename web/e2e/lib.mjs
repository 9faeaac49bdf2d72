// Shared helpers of the browser scenarios (web/e2e/*.test.mjs). They run
// under node:test, started by cmd/authd's TestHostedPagesInBrowser, which
// serves authd, a mail catcher, an OpenID Provider and an attacker site on
// loopback and passes their addresses in the environment.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the suite through go test -run TestHostedPagesInBrowser ./cmd/authd`);
  return v;
}

export const env = {
  authd: required('AUTHD_URL'),
  mail: required('MAIL_URL'),
  attacker: required('ATTACKER_URL'),
  adminEmail: required('ADMIN_EMAIL'),
  adminPassword: required('ADMIN_PASSWORD'),
  provider: required('OIDC_PROVIDER'),
  providerName: required('OIDC_DISPLAY_NAME'),
  opIssuer: required('OIDC_ISSUER'),
  opUsername: required('OIDC_USERNAME'),
  opPassword: required('OIDC_PASSWORD'),
  opEmail: required('OIDC_EMAIL'),
  artifacts: required('ARTIFACTS_DIR'),
  chromium: process.env.CHROMIUM || '/usr/bin/chromium',
};
mkdirSync(env.artifacts, { recursive: true });

// How long a step may take before the scenario fails. Generous: the
// machine is shared, and a page that never gets there fails all the same.
export const STEP = 15_000;

// ---------------------------------------------------------------- browser

let browserPromise;

// Registered at import, in the file's root: an after() called inside a
// test would close the browser when that test ends.
after(async () => {
  if (browserPromise) await (await browserPromise).close();
});

// browser returns the file's Chromium, launched on first use and closed
// when the file's tests are done.
export function browser() {
  if (!browserPromise) {
    browserPromise = chromium.launch({
      executablePath: env.chromium,
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
  }
  return browserPromise;
}

// A scenario owns the contexts it opens: it watches their pages for
// console errors, uncaught exceptions, CSP violations and failed assets,
// saves a screenshot of each open page when it fails, and closes them.
export class Scenario {
  constructor(name) {
    this.name = name;
    this.contexts = [];
    this.problems = [];
    this.allowed = [];
  }

  // allow tolerates problems matching re (an expected error of a step).
  allow(re) {
    this.allowed.push(re);
  }

  // context opens a fresh browser context (no cookies, no storage) and
  // returns it with a first page.
  async context(options = {}) {
    const b = await browser();
    const context = await b.newContext({ viewport: { width: 1280, height: 800 }, ...options });
    // Report CSP violations through the console, which every page is
    // watched on. An init script is the browser's own, not the page's: CSP
    // does not apply to it.
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
      });
    });
    context.on('page', (page) => this.watch(page));
    this.contexts.push(context);
    const page = await context.newPage();
    return { context, page };
  }

  watch(page) {
    const ours = (url) => url.startsWith(env.authd + '/');
    const report = (what) => {
      if (!this.allowed.some((re) => re.test(what))) this.problems.push(what);
    };
    page.on('console', (msg) => {
      if (msg.type() !== 'error' || !ours(page.url())) return;
      const text = msg.text();
      const where = msg.location()?.url || '';
      // The browser logs every 4xx answer of a fetch as an error, but for
      // the API those are answers the pages handle (wrong password, no
      // session yet, …). Assets that fail are reported below.
      if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(text) && where.includes('/api/')) return;
      // The browser's own guess at /favicon.ico when a page declares no
      // icon: the smoke scenario checks that once instead of every page.
      if (where === env.authd + '/favicon.ico') return;
      report(`console error on ${page.url()}: ${text} (${where})`);
    });
    page.on('pageerror', (err) => {
      if (ours(page.url())) report(`uncaught exception on ${page.url()}: ${err.stack || err}`);
    });
    page.on('response', (res) => {
      const url = res.url();
      if (ours(url) && url.startsWith(env.authd + '/ui/') && res.status() >= 400) {
        report(`${res.status()} for ${url}`);
      }
      if (ours(url) && url.includes('/api/') && res.status() >= 500) {
        report(`${res.status()} for ${res.request().method()} ${url}`);
      }
    });
    page.on('requestfailed', (req) => {
      const url = req.url();
      const why = req.failure()?.errorText;
      // ERR_ABORTED: the browser dropped the request (a prefetch or a
      // navigation superseded by the next one), not a failure of the page.
      if (ours(url) && url.includes('/ui/') && why !== 'net::ERR_ABORTED') report(`request failed: ${url}: ${why}`);
    });
  }

  assertClean() {
    assert.deepEqual(this.problems, [], `the pages reported problems:\n${this.problems.join('\n')}`);
  }

  async capture() {
    let i = 0;
    for (const context of this.contexts) {
      for (const page of context.pages()) {
        const file = join(env.artifacts, `failed-${slug(this.name)}-${i++}.png`);
        await page.screenshot({ path: file, fullPage: true }).catch(() => {});
        console.log(`# failed at ${page.url()}; screenshot ${file}`);
      }
    }
  }

  async close() {
    for (const context of this.contexts) await context.close().catch(() => {});
  }
}

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

// scenario declares a test that gets a fresh Scenario, fails on any
// problem its pages reported, and keeps screenshots of where it failed.
export function scenario(name, fn) {
  test(name, async (t) => {
    const s = new Scenario(name);
    try {
      await fn(s, t);
      s.assertClean();
    } catch (err) {
      await s.capture();
      throw err;
    } finally {
      await s.close();
    }
  });
}

// ---------------------------------------------------------------- pages

export function ui(path = '/') {
  return env.authd + '/ui' + path;
}

// visible waits for locator to be visible, failing with what otherwise.
export async function visible(locator, what, timeout = STEP) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout });
  } catch (err) {
    throw new Error(`${what}: not visible within ${timeout} ms (${err.message.split('\n')[0]})`);
  }
  return locator.first();
}

export function heading(page, name) {
  return page.getByRole('heading', { name, exact: true });
}

export async function expectHeading(page, name, timeout = STEP) {
  return visible(heading(page, name), `heading "${name}" on ${page.url()}`, timeout);
}

// expectAlert waits for an element with role="alert" whose text matches re.
export async function expectAlert(page, re, what) {
  return visible(page.getByRole('alert').filter({ hasText: re }), `${what}: an alert matching ${re}`);
}

export async function expectSignedOut(page, what) {
  return visible(heading(page, 'Sign in'), `${what}: the sign-in page on ${page.url()}`);
}

// fillSignIn fills the sign-in form on page (already on it).
export async function fillSignIn(page, email, password) {
  await expectHeading(page, 'Sign in');
  await page.getByRole('textbox', { name: 'Email', exact: true }).fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
}

// signIn signs in through the sign-in page and waits for the account page.
export async function signIn(page, email, password) {
  await page.goto(ui('/'));
  await fillSignIn(page, email, password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expectAccount(page, `signed in as ${email}`);
}

// expectAccount waits for the account page with its sessions loaded, the
// current one marked: proof that the session the page holds works.
export async function expectAccount(page, what = 'the account page') {
  await expectHeading(page, 'Your account');
  await visible(section(page, 'Sessions').getByText('This device'), `${what}: the current session in the Sessions list`);
}

// signOut uses the top bar's button and waits for the sign-in page.
export async function signOut(page) {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expectSignedOut(page, 'after signing out');
}

// opLogin plays the user on the OpenID Provider's login page, where the
// page that was just clicked sends the browser (the example OP asks every
// time: it keeps no session), and waits to be back on the pages.
export async function opLogin(page) {
  await page.waitForURL((u) => u.href.startsWith(env.opIssuer), { timeout: STEP });
  await page.locator('#username').fill(env.opUsername);
  await page.locator('#password').fill(env.opPassword);
  await page.getByRole('button', { name: 'Login' }).click();
  await page.waitForURL((u) => u.href.startsWith(env.authd + '/ui/'), { timeout: STEP });
}

// refreshCookie returns the browser's refresh-token cookie of authd.
export async function refreshCookie(context) {
  const cookies = await context.cookies(env.authd + '/api/v1/auth/refresh');
  return cookies.find((c) => /authd_refresh$/.test(c.name));
}

// section returns the part of page under the heading name (the account
// page's "Profile", "Password", …), so that a label used twice on the
// page ("Current password") is found in the right form.
export function section(page, name) {
  return page
    .locator('section, [role="region"], form, fieldset')
    .filter({ has: page.getByRole('heading', { name, exact: true }) })
    .last();
}

// button returns the button named name (exactly).
export function button(scope, name) {
  return scope.getByRole('button', { name, exact: true });
}

// waitForAPI runs action and returns the first response of the API path
// it caused (method and path prefix).
export async function waitForAPI(page, method, path, action) {
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === method && new URL(r.url()).pathname.startsWith(path), { timeout: STEP }),
    action(),
  ]);
  return res;
}

// openUser finds email through the users tab's search and opens its view.
export async function openUser(page, email) {
  const search = page.getByRole('searchbox', { name: 'Search by email', exact: true });
  await visible(search, 'the users search');
  const prefix = email.slice(0, email.indexOf('@') - 2);
  await Promise.all([
    page.waitForResponse((r) => {
      const u = new URL(r.url());
      return u.pathname === '/api/v1/users' && u.searchParams.get('email') === prefix;
    }, { timeout: STEP }),
    search.fill(prefix),
  ]);
  const row = page.getByRole('row').filter({ hasText: email });
  await visible(row, `the row of ${email} after searching "${prefix}"`);
  const link = row.getByRole('link', { name: email }).or(row.getByRole('button', { name: email }));
  if (await link.count()) await link.first().click();
  else await row.first().click();
  await expectHeading(page, email);
}

// ---------------------------------------------------------------- API

// api calls authd from Node (not the browser): it carries no cookie, so it
// is body mode.
export async function api(method, path, { token, body, headers = {} } = {}) {
  const res = await fetch(env.authd + path, {
    method,
    headers: {
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

export async function apiOK(method, path, options, status = 200) {
  const res = await api(method, path, options);
  assert.equal(res.status, status, `${method} ${path}: ${res.status} ${res.text}`);
  return res.json;
}

// uniqueEmail returns an address no other scenario (or earlier run) uses.
export function uniqueEmail(tag) {
  return `${tag}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}@example.com`;
}

// password returns a long, random passphrase: the server refuses common
// and short ones.
export function password() {
  return `lantern ${randomBytes(6).toString('hex')} harbour ${randomBytes(3).toString('hex')}`;
}

// register makes a verified-or-not account through the API and returns
// its tokens.
export async function register(email, pw, name = 'E2E User') {
  return apiOK('POST', '/api/v1/auth/register', { body: { email, password: pw, name } }, 201);
}

export async function login(email, pw) {
  return apiOK('POST', '/api/v1/auth/login', { body: { email, password: pw } });
}

export async function adminToken() {
  return (await login(env.adminEmail, env.adminPassword)).access_token;
}

// findUser returns the user with email, found as an administrator.
export async function findUser(email) {
  const token = await adminToken();
  const page = await apiOK('GET', `/api/v1/users?email=${encodeURIComponent(email)}`, { token });
  const user = (page.users || []).find((u) => u.email === email);
  return { token, user };
}

// ---------------------------------------------------------------- mail

// mailLink waits for a mail to `to` with a link containing path
// ("/verify-email" or "/reset-password") and returns the newest such link.
export async function mailLink(to, path, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const res = await fetch(env.mail + '/messages');
    const messages = await res.json();
    const links = messages
      .filter((m) => m.to.includes(to))
      .flatMap((m) => m.links)
      .filter((l) => new URL(l).pathname.includes(path));
    if (links.length > 0) return links[links.length - 1];
    if (Date.now() > deadline) {
      throw new Error(`no mail to ${to} with a ${path} link within ${timeout} ms; mail so far: ${JSON.stringify(messages.map((m) => [m.to, m.subject]))}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

// mailCount returns how many mails to `to` were caught.
export async function mailCount(to) {
  const res = await fetch(env.mail + '/messages');
  return (await res.json()).filter((m) => m.to.includes(to)).length;
}
