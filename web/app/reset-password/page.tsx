'use client';
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api, ApiError } from '@/lib/api';
import { defaultConfig, useConfig } from '@/lib/config';
import { errorMessage } from '@/lib/messages';
import { takeFragmentToken } from '@/lib/nav';
import { useFocusInvalid } from '@/lib/validate';
import { PasswordGuidance, passwordLength } from '@/components/auth/PasswordGuidance';
import { AuthShell } from '@/components/ui/AuthShell';
import { Button } from '@/components/ui/Button';
import { FormError } from '@/components/ui/FormError';
import { PasswordField } from '@/components/ui/PasswordField';
import { Spinner } from '@/components/ui/Spinner';
import { TextLink } from '@/components/ui/TextLink';

export default function ResetPasswordPage() {
  const cfg = useConfig();
  const policy = (cfg ?? defaultConfig).password;
  const formRef = useRef<HTMLFormElement>(null);
  const focusInvalid = useFocusInvalid(formRef);
  const guidanceId = useId();
  // undefined: not read yet (the fragment exists only in the browser).
  const [token, setToken] = useState<string | null | undefined>(undefined);
  const [password, setPassword] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [badLink, setBadLink] = useState(false);
  const [pending, setPending] = useState(false);
  const [done, setDone] = useState(false);

  useEffect(() => setToken(takeFragmentToken()), []);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (pending || !token) return;
    const len = passwordLength(password);
    const err = !password
      ? 'Choose a new password.'
      : len < policy.min_length
        ? `Use at least ${policy.min_length} characters.`
        : len > policy.max_length
          ? `Use at most ${policy.max_length} characters.`
          : null;
    setFieldError(err);
    setError(null);
    if (err) {
      focusInvalid();
      return;
    }
    setPending(true);
    try {
      await api('POST', '/api/v1/auth/password/reset', { token, new_password: password });
      setDone(true);
    } catch (e2) {
      if (e2 instanceof ApiError && e2.code === 'weak_password') {
        setFieldError(e2.message || errorMessage(e2));
        focusInvalid();
      } else if (e2 instanceof ApiError && e2.code === 'invalid_token') {
        setBadLink(true);
      } else {
        setError(errorMessage(e2));
      }
    } finally {
      setPending(false);
    }
  };

  let body;
  if (token === undefined) {
    body = (
      <div className="flex justify-center py-4">
        <Spinner label="Loading…" />
      </div>
    );
  } else if (done) {
    body = (
      <div className="space-y-4">
        <div role="status" className="rounded-lg border border-green-300 bg-green-50 px-3.5 py-3 text-sm text-green-900 dark:border-green-800 dark:bg-green-950 dark:text-green-100">
          <p className="font-semibold">Your password has been changed.</p>
          <p className="mt-1">For your security, you were signed out everywhere. Sign in with the new password.</p>
        </div>
        <TextLink href="/">Sign in</TextLink>
      </div>
    );
  } else if (!token || badLink) {
    body = (
      <div className="space-y-4">
        <div role="alert" className="rounded-lg border border-red-300 bg-red-50 px-3.5 py-3 text-sm text-red-900 dark:border-red-800 dark:bg-red-950 dark:text-red-100">
          <p className="font-semibold">{token ? 'This reset link has expired or was already used.' : 'This reset link is incomplete.'}</p>
          <p className="mt-1">Links work once and only for a short time. Ask for a new one{token ? '' : ', or copy the whole link from the email'}.</p>
        </div>
        <TextLink href="/forgot-password/">Send a new reset link</TextLink>
      </div>
    );
  } else {
    body = (
      <form ref={formRef} onSubmit={submit} noValidate className="space-y-4">
        <FormError message={error} />
        {/* A hidden username lets password managers file the new password under the right account. */}
        <input type="text" name="username" autoComplete="username" hidden readOnly value="" />
        <PasswordField
          label="New password"
          name="new-password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fieldError}
          aria-describedby={guidanceId}
          required
        />
        <PasswordGuidance id={guidanceId} password={password} min={policy.min_length} max={policy.max_length} />
        <Button type="submit" block pending={pending}>
          Set password
        </Button>
      </form>
    );
  }

  return (
    <AuthShell title="Choose a new password" footer={done ? undefined : <TextLink href="/">Back to sign in</TextLink>}>
      {body}
    </AuthShell>
  );
}
