'use client';
import { useRef, useState, type FormEvent } from 'react';
import { api, ApiError } from '@/lib/api';
import { errorMessage } from '@/lib/messages';
import { useSession } from '@/lib/session';
import { emailError, useFocusInvalid } from '@/lib/validate';
import { Alert } from '@/components/ui/Alert';
import { Button } from '@/components/ui/Button';
import { FormError } from '@/components/ui/FormError';
import { PasswordField } from '@/components/ui/PasswordField';
import { EmailField } from '@/components/ui/TextField';
import { Section } from './Section';

export function VerifiedBadge({ verified }: { verified: boolean }) {
  return verified ? (
    <span className="inline-flex items-center rounded-full bg-green-100 px-2 py-0.5 text-xs font-medium text-green-900 dark:bg-green-950 dark:text-green-200">Verified</span>
  ) : (
    <span className="inline-flex items-center rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-950 dark:bg-amber-950 dark:text-amber-200">Not verified</span>
  );
}

export function EmailSection() {
  const { user } = useSession();
  const formRef = useRef<HTMLFormElement>(null);
  const focusInvalid = useFocusInvalid(formRef);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<{ email?: string | null; password?: string | null }>({});
  const [error, setError] = useState<string | null>(null);
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  if (!user) return null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (pending) return;
    const v = email.trim();
    const errs = {
      email: emailError(v) ?? (v.toLowerCase() === user.email.toLowerCase() ? 'This is already your email address.' : null),
      password: user.has_password && !password ? 'Enter your current password.' : null,
    };
    setErrors(errs);
    setError(null);
    setSentTo(null);
    if (errs.email || errs.password) {
      focusInvalid();
      return;
    }
    setPending(true);
    try {
      const body: Record<string, string> = { email: v };
      if (user.has_password) body.current_password = password;
      await api('PATCH', '/api/v1/users/me', body);
      setSentTo(v);
      setEmail('');
      setPassword('');
    } catch (err) {
      if (err instanceof ApiError && err.code === 'invalid_credentials') {
        setErrors({ password: 'The password is incorrect.' });
        focusInvalid();
      } else if (err instanceof ApiError && err.code === 'email_taken') {
        setErrors({ email: 'Another account already uses this email address.' });
        focusInvalid();
      } else if (err instanceof ApiError && err.code === 'invalid_request') {
        setErrors({ email: err.message || 'Enter a valid email address.' });
        focusInvalid();
      } else {
        setError(errorMessage(err));
      }
    } finally {
      setPending(false);
    }
  };

  return (
    <Section
      title="Email"
      description={
        <span className="flex flex-wrap items-center gap-2">
          <span>
            You sign in with <strong className="break-all font-medium text-zinc-900 dark:text-zinc-100">{user.email}</strong>
          </span>
          <VerifiedBadge verified={user.email_verified} />
        </span>
      }
    >
      <form ref={formRef} onSubmit={submit} noValidate className="space-y-4">
        <FormError message={error} />
        {sentTo && (
          <Alert tone="success" title="Check your new inbox">
            We sent a link to <strong className="break-all">{sentTo}</strong>. Your address changes when you follow it; until then you keep signing in with{' '}
            {user.email}.
          </Alert>
        )}
        <EmailField
          label="New email"
          name="new-email"
          autoComplete="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={errors.email}
        />
        {user.has_password && (
          <PasswordField
            label="Current password"
            name="current-password-email"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={errors.password}
            hint="To keep your account safe, confirm it is you."
          />
        )}
        <Button type="submit" pending={pending}>
          Change email
        </Button>
      </form>
    </Section>
  );
}
