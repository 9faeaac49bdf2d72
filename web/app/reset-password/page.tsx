'use client';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, ApiError } from '@/lib/api';
import { defaultConfig, useConfig } from '@/lib/config';
import { errorMessage } from '@/lib/messages';
import { takeFragmentToken } from '@/lib/nav';
import { useFocusInvalid } from '@/lib/validate';
import { NewPasswordField, newPasswordError } from '@/components/auth/PasswordGuidance';
import { Alert } from '@/components/ui/Alert';
import { AuthShell } from '@/components/ui/AuthShell';
import { Button } from '@/components/ui/Button';
import { FormError } from '@/components/ui/FormError';
import { Spinner } from '@/components/ui/Spinner';
import { TextLink } from '@/components/ui/TextLink';

export default function ResetPasswordPage() {
  const cfg = useConfig();
  const policy = (cfg ?? defaultConfig).password;
  const formRef = useRef<HTMLFormElement>(null);
  const focusInvalid = useFocusInvalid(formRef);
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
    const err = newPasswordError(password, policy, 'Choose a new password.');
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
        <Alert tone="success" title="Your password has been changed.">
          For your security, you were signed out everywhere. Sign in with the new password.
        </Alert>
        <TextLink href="/">Sign in</TextLink>
      </div>
    );
  } else if (!token || badLink) {
    body = (
      <div className="space-y-4">
        <Alert tone="error" title={token ? 'This reset link has expired or was already used.' : 'This reset link is incomplete.'}>
          Links work once and only for a short time. Ask for a new one{token ? '' : ', or copy the whole link from the email'}.
        </Alert>
        <TextLink href="/forgot-password/">Send a new reset link</TextLink>
      </div>
    );
  } else {
    body = (
      <form ref={formRef} onSubmit={submit} noValidate className="space-y-4">
        <FormError message={error} />
        {/* A hidden username lets password managers file the new password under the right account. */}
        <input type="text" name="username" autoComplete="username" hidden readOnly value="" />
        <NewPasswordField
          label="New password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={fieldError}
          policy={policy}
          required
        />
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
