import assert from 'node:assert/strict';
import { test } from 'node:test';
import { load } from './build.mjs';

const { safeRedirect, readableForeground, defaultConfig } = await load('config');
const cfg = { ...defaultConfig, redirect_urls: ['https://app.example.com/after-login', 'https://other.example.com'] };

test('redirect_to is honoured only when on the allowlist', () => {
  assert.equal(safeRedirect('https://app.example.com/after-login', cfg), 'https://app.example.com/after-login');
  // Compared in normalised form on both sides.
  assert.equal(safeRedirect('https://OTHER.example.com', cfg), 'https://other.example.com/');
  for (const bad of [
    'https://evil.example.com/after-login',
    'https://app.example.com/after-login?x=1',
    'https://app.example.com/after-login#frag',
    'https://app.example.com\\@evil.example.com/after-login',
    ' https://app.example.com/after-login',
    'https://app.example.com/after-login\n',
    'javascript:alert(1)',
    '//evil.example.com/',
    '/ui//evil.example.com/',
    '/ui/../../evil',
    'not a url',
    '',
    null,
  ]) {
    assert.equal(safeRedirect(bad, cfg), '/ui/account/', String(bad));
  }
});

test('pages of our own are allowed without the allowlist', () => {
  assert.equal(safeRedirect('/ui/admin/', cfg), '/ui/admin/');
  assert.equal(safeRedirect('/ui/account/', null), '/ui/account/');
});

test('the brand foreground is the more readable of white and black', () => {
  assert.equal(readableForeground('#4f46e5'), '#ffffff');
  assert.equal(readableForeground('#000000'), '#ffffff');
  assert.equal(readableForeground('#facc15'), '#000000');
  assert.equal(readableForeground('#ffffff'), '#000000');
});
