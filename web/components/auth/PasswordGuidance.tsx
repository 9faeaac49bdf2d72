'use client';
import { useEffect, useId, useState, type ComponentProps } from 'react';
import { PasswordField } from '@/components/ui/PasswordField';
import { api } from '@/lib/api';

type Check = { state: 'idle' | 'checking' | 'ok' | 'bad' | 'unknown'; message?: string };

const DEBOUNCE_MS = 300;

/** Length the way the server counts it: characters, not UTF-16 units. */
export function passwordLength(pw: string): number {
  return [...pw].length;
}

/** The error of a new password against the length policy, or null; empty says what an empty field gets. */
export function newPasswordError(pw: string, policy: { min_length: number; max_length: number }, empty: string): string | null {
  const len = passwordLength(pw);
  if (!pw) return empty;
  if (len < policy.min_length) return `Use at least ${policy.min_length} characters.`;
  if (len > policy.max_length) return `Use at most ${policy.max_length} characters.`;
  return null;
}

// The server's verdict on a password (length and the breached/common list),
// asked ~300 ms after typing stops; the previous question is abandoned.
function useServerCheck(password: string, enabled: boolean): Check {
  const [check, setCheck] = useState<Check>({ state: 'idle' });
  useEffect(() => {
    if (!enabled) {
      setCheck({ state: 'idle' });
      return;
    }
    setCheck({ state: 'checking' });
    const ctl = new AbortController();
    const t = setTimeout(async () => {
      try {
        const r = await api<{ acceptable: boolean; code: string; message: string }>('POST', '/api/v1/auth/password/check', { password }, { signal: ctl.signal });
        setCheck(r.acceptable ? { state: 'ok' } : { state: 'bad', message: r.message });
      } catch (e) {
        if (ctl.signal.aborted) return;
        // No verdict (an older authd, rate limited, offline): the server
        // still checks when the form is sent.
        setCheck({ state: 'unknown' });
      }
    }, DEBOUNCE_MS);
    return () => {
      ctl.abort();
      clearTimeout(t);
    };
  }, [password, enabled]);
  return check;
}

function Item({ met, pending, children }: { met: boolean | null; pending?: boolean; children: string }) {
  const icon =
    met === true ? (
      <path fillRule="evenodd" d="M16.7 5.3a1 1 0 010 1.4l-8 8a1 1 0 01-1.4 0l-4-4a1 1 0 111.4-1.4L8 12.58l7.3-7.3a1 1 0 011.4 0z" clipRule="evenodd" />
    ) : met === false ? (
      <path fillRule="evenodd" d="M4.3 4.3a1 1 0 011.4 0L10 8.58l4.3-4.3a1 1 0 111.4 1.42L11.42 10l4.3 4.3a1 1 0 01-1.42 1.4L10 11.42l-4.3 4.3a1 1 0 01-1.4-1.42L8.58 10 4.3 5.7a1 1 0 010-1.4z" clipRule="evenodd" />
    ) : (
      <circle cx="10" cy="10" r="3" />
    );
  const tone =
    met === true ? 'text-green-800 dark:text-green-300' : met === false ? 'text-red-700 dark:text-red-300' : 'text-zinc-600 dark:text-zinc-400';
  return (
    <li className={`flex items-start gap-2 ${tone}`}>
      <svg viewBox="0 0 20 20" fill="currentColor" aria-hidden="true" className={`mt-0.5 size-4 shrink-0 ${pending ? 'animate-pulse' : ''}`}>
        {icon}
      </svg>
      <span>
        <span className="sr-only">{met === true ? 'Done: ' : met === false ? 'Not yet: ' : ''}</span>
        {children}
      </span>
    </li>
  );
}

/**
 * Live guidance under a new-password field, announced politely as it
 * changes. Returns nothing to the form: the server has the last word on
 * submit, this only saves a round trip of disappointment.
 */
export function PasswordGuidance({ id, password, min, max }: { id: string; password: string; min: number; max: number }) {
  const len = passwordLength(password);
  const lengthOk = len >= min && len <= max;
  const check = useServerCheck(password, lengthOk);
  const commonText =
    check.state === 'bad'
      ? check.message || 'Too common: it appears in lists of breached passwords.'
      : check.state === 'checking'
        ? 'Checking it is not a common or breached password…'
        : check.state === 'unknown'
          ? 'Not a common or breached password (checked when you submit)'
          : 'Not a common or breached password';
  return (
    <div id={id} role="status" aria-live="polite" className="text-sm">
      <ul className="space-y-1">
        <Item met={password ? len >= min : null}>{`At least ${min} characters`}</Item>
        {len > max && <Item met={false}>{`At most ${max} characters`}</Item>}
        <Item met={check.state === 'ok' ? true : check.state === 'bad' ? false : null} pending={check.state === 'checking'}>
          {commonText}
        </Item>
      </ul>
    </div>
  );
}

/**
 * A new password's field (name and autocomplete "new-password") with the
 * guidance under it, which also describes it. onceTyped shows the guidance
 * only when something is typed (where setting a password is not the form's
 * only point).
 */
export function NewPasswordField({
  value,
  policy,
  onceTyped = false,
  ...field
}: Omit<ComponentProps<typeof PasswordField>, 'name' | 'autoComplete' | 'aria-describedby' | 'value'> & {
  value: string;
  policy: { min_length: number; max_length: number };
  onceTyped?: boolean;
}) {
  const guidanceId = useId();
  const guided = !onceTyped || value !== '';
  return (
    <>
      <PasswordField {...field} name="new-password" autoComplete="new-password" value={value} aria-describedby={guided ? guidanceId : undefined} />
      {guided && <PasswordGuidance id={guidanceId} password={value} min={policy.min_length} max={policy.max_length} />}
    </>
  );
}
