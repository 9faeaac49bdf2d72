'use client';
import { useRef, useState, type FormEvent } from 'react';
import { api } from '@/lib/api';
import { errorMessage } from '@/lib/messages';
import { emailError, useFocusInvalid } from '@/lib/validate';
import { Alert } from '@/components/ui/Alert';
import { AuthShell } from '@/components/ui/AuthShell';
import { Button } from '@/components/ui/Button';
import { FormError } from '@/components/ui/FormError';
import { EmailField } from '@/components/ui/TextField';
import { TextLink } from '@/components/ui/TextLink';

export default function ForgotPasswordPage() {
  const formRef = useRef<HTMLFormElement>(null);
  const focusInvalid = useFocusInvalid(formRef);
  const [email, setEmail] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [sentTo, setSentTo] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (pending) return;
    const err = emailError(email);
    setFieldError(err);
    setError(null);
    if (err) {
      focusInvalid();
      return;
    }
    setPending(true);
    try {
      // 202 whether or not the address has an account: the page says the
      // same either way, so it cannot be used to find out who signed up.
      await api('POST', '/api/v1/auth/password/forgot', { email: email.trim() });
      setSentTo(email.trim());
    } catch (e2) {
      setError(errorMessage(e2));
    } finally {
      setPending(false);
    }
  };

  return (
    <AuthShell
      title="Reset your password"
      description={sentTo ? undefined : 'Enter the email address of your account and we will send you a link to choose a new password.'}
      footer={<TextLink href="/">Back to sign in</TextLink>}
    >
      {sentTo ? (
        <div className="space-y-4">
          <Alert tone="success" title="Check your inbox">
            If an account exists for <strong className="break-all">{sentTo}</strong>, we have sent it a link to reset the password. The link works once and expires
            soon.
          </Alert>
          <p className="text-sm text-zinc-600 dark:text-zinc-400">
            No email after a few minutes? Check your spam folder, or{' '}
            <button type="button" className="font-medium text-brand-ink underline-offset-2 hover:underline dark:text-brand-ink-dark" onClick={() => setSentTo(null)}>
              try another address
            </button>
            .
          </p>
        </div>
      ) : (
        <form ref={formRef} onSubmit={submit} noValidate className="space-y-4">
          <FormError message={error} />
          <EmailField
            label="Email"
            name="email"
            autoComplete="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            error={fieldError}
            required
          />
          <Button type="submit" block pending={pending}>
            Send reset link
          </Button>
        </form>
      )}
    </AuthShell>
  );
}
