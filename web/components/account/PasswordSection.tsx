'use client';
import { useRef, useState, type FormEvent } from 'react';
import { api, ApiError } from '@/lib/api';
import { defaultConfig, useConfig } from '@/lib/config';
import { errorMessage } from '@/lib/messages';
import { useSession } from '@/lib/session';
import { useFocusInvalid } from '@/lib/validate';
import { NewPasswordField, newPasswordError } from '@/components/auth/PasswordGuidance';
import { Alert } from '@/components/ui/Alert';
import { Button } from '@/components/ui/Button';
import { FormError } from '@/components/ui/FormError';
import { PasswordField } from '@/components/ui/PasswordField';
import { Section } from './Section';

export function PasswordSection({ onChanged }: { onChanged(): void }) {
  const { user, reload } = useSession();
  const cfg = useConfig();
  const policy = (cfg ?? defaultConfig).password;
  const formRef = useRef<HTMLFormElement>(null);
  const focusInvalid = useFocusInvalid(formRef);
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [errors, setErrors] = useState<{ current?: string | null; next?: string | null }>({});
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [pending, setPending] = useState(false);
  if (!user) return null;
  const hasPassword = user.has_password;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (pending) return;
    const errs = {
      current: hasPassword && !current ? 'Enter your current password.' : null,
      next: newPasswordError(next, policy, 'Choose a new password.'),
    };
    setErrors(errs);
    setError(null);
    setDone(false);
    if (errs.current || errs.next) {
      focusInvalid();
      return;
    }
    setPending(true);
    try {
      const body: Record<string, string> = { new_password: next };
      if (hasPassword) body.current_password = current;
      await api('POST', '/api/v1/auth/password/change', body);
      setCurrent('');
      setNext('');
      setDone(true);
      onChanged();
      if (!hasPassword) await reload();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_credentials') {
        setErrors({ current: 'The current password is incorrect.' });
        focusInvalid();
      } else if (err instanceof ApiError && err.code === 'weak_password') {
        setErrors({ next: err.message || errorMessage(err) });
        focusInvalid();
      } else if (err instanceof ApiError && err.code === 'conflict') {
        setError('Your password was changed somewhere else meanwhile. Reload the page and try again.');
      } else {
        setError(errorMessage(err));
      }
    } finally {
      setPending(false);
    }
  };

  return (
    <Section
      title="Password"
      description={
        hasPassword
          ? 'Changing your password signs you out on every other device.'
          : 'You sign in with a linked account. Set a password to sign in with your email too.'
      }
    >
      <form ref={formRef} onSubmit={submit} noValidate className="space-y-4">
        <FormError message={error} />
        {done && (
          <Alert tone="success" title={hasPassword ? 'Password changed' : 'Password set'}>
            Your other sessions were signed out. This device stays signed in.
          </Alert>
        )}
        <input type="text" name="username" autoComplete="username" hidden readOnly value={user.email} />
        {hasPassword && (
          <PasswordField
            label="Current password"
            name="current-password"
            autoComplete="current-password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
            error={errors.current}
          />
        )}
        <NewPasswordField
          label="New password"
          value={next}
          onChange={(e) => {
            setNext(e.target.value);
            setDone(false);
          }}
          error={errors.next}
          policy={policy}
          onceTyped
        />
        <Button type="submit" pending={pending}>
          {hasPassword ? 'Change password' : 'Set password'}
        </Button>
      </form>
    </Section>
  );
}
