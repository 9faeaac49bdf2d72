import assert from 'node:assert/strict';
import { test } from 'node:test';
import { load } from './build.mjs';

const { describeUserAgent, relativeTime, shortId } = await load('format');
const { formatWait, errorMessage } = await load('messages');
const { ApiError } = await load('api');

test('user agents in plain words', () => {
  const cases = {
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36': 'Chrome on macOS',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0': 'Edge on Windows',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1': 'Safari on iPhone',
    'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0': 'Firefox on Linux',
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36': 'Chrome on Android',
    'curl/8.5.0': 'curl',
    '': 'Unknown device',
  };
  for (const [ua, want] of Object.entries(cases)) assert.equal(describeUserAgent(ua), want, ua);
});

test('relative times', () => {
  const now = Date.parse('2026-01-10T12:00:00Z');
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }); // the machine's locale, as in the browser
  assert.equal(relativeTime('2026-01-10T11:59:50Z', now), 'just now');
  assert.equal(relativeTime('2026-01-10T11:55:00Z', now), rtf.format(-5, 'minute'));
  assert.equal(relativeTime('2026-01-09T12:00:00Z', now), rtf.format(-1, 'day'));
  assert.equal(relativeTime('2026-01-03T12:00:00Z', now), rtf.format(-1, 'week'));
  assert.equal(relativeTime(null, now), 'never');
});

test('short ids use the random end of a UUIDv7', () => {
  assert.equal(shortId('01a252b7-afd6-7dee-b588-c9c84c5392da'), 'c84c5392da'.slice(-8));
});

test('lockout waits are said in words', () => {
  assert.equal(formatWait(300), '5 minutes');
  assert.equal(formatWait(61), '2 minutes');
  assert.equal(formatWait(1), '1 second');
  assert.equal(formatWait(7200), '2 hours');
  assert.equal(errorMessage(new ApiError(429, 'too_many_attempts', 'x', 300)), 'Too many attempts. Try again in 5 minutes.');
  assert.equal(errorMessage(new ApiError(401, 'invalid_credentials', 'x')), 'Email or password is incorrect.');
  assert.equal(errorMessage(new ApiError(503, 'unavailable', 'x')), 'authd is busy, try again in a moment.');
});
