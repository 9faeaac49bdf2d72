// What the pages say for authd's error codes. The server's own message is
// the fallback: it is written for people too, just less specific.
import { ApiError } from './api';

/** "5 minutes", "1 minute", "30 seconds" — for a Retry-After wait. */
export function formatWait(seconds: number): string {
  if (seconds >= 3600) {
    const h = Math.ceil(seconds / 3600);
    return `${h} hour${h === 1 ? '' : 's'}`;
  }
  if (seconds >= 60) {
    const m = Math.ceil(seconds / 60);
    return `${m} minute${m === 1 ? '' : 's'}`;
  }
  const s = Math.max(1, Math.ceil(seconds));
  return `${s} second${s === 1 ? '' : 's'}`;
}

const byCode: Record<string, string> = {
  invalid_credentials: 'Email or password is incorrect.',
  account_disabled: 'This account has been disabled. Contact your administrator if you think this is a mistake.',
  email_not_verified: 'Verify your email address before signing in: follow the link we sent you.',
  weak_password: 'Choose a stronger password: this one is too short or too common.',
  email_taken: 'An account with this email already exists.',
  invalid_token: 'This link is invalid or has expired. Request a new one.',
  last_sign_in_method: 'This is your only way to sign in. Set a password or link another account first.',
  last_admin: 'This would leave no administrator. Give the role to someone else first.',
  unavailable: 'authd is busy, try again in a moment.',
  csrf_failed: 'The request was refused for security reasons. Reload the page and try again.',
  invalid_refresh_token: 'You were signed out.',
  unauthorized: 'Your session has ended. Sign in again.',
  forbidden: 'You do not have permission to do that.',
  not_found: 'It no longer exists.',
  network_error: 'Could not reach the server. Check your connection and try again.',
  payload_too_large: 'That is too long.',
};

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'too_many_attempts') {
      return e.retryAfter ? `Too many attempts. Try again in ${formatWait(e.retryAfter)}.` : 'Too many attempts. Try again later.';
    }
    if (e.code === 'unavailable' && e.retryAfter) return `authd is busy, try again in ${formatWait(e.retryAfter)}.`;
    if (byCode[e.code]) return byCode[e.code];
    if (e.code === 'invalid_request' || e.code === 'invalid') return e.message || 'Check the form and try again.';
    if (e.status >= 500) return `Something went wrong on our side. Try again${e.requestId ? ` (request ${e.requestId})` : ''}.`;
    return e.message || 'Something went wrong. Try again.';
  }
  if ((e as Error)?.name === 'AbortError') return '';
  return 'Something went wrong. Try again.';
}
