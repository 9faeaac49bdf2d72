'use client';
import { useRef, useState } from 'react';
import { api, ApiError } from '@/lib/api';
import { errorMessage } from '@/lib/messages';
import { useSession } from '@/lib/session';
import { useFocusInvalid } from '@/lib/validate';
import { Button } from '@/components/ui/Button';
import { ConfirmDialog } from '@/components/ui/ConfirmDialog';
import { PasswordField } from '@/components/ui/PasswordField';
import { Section } from './Section';

export function DangerZone() {
  const { user } = useSession();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const fieldRef = useRef<HTMLDivElement>(null);
  const focusInvalid = useFocusInvalid(fieldRef);
  if (!user) return null;

  const close = () => {
    setOpen(false);
    setPassword('');
    setFieldError(null);
    setError(null);
  };

  const confirm = async () => {
    if (user.has_password && !password) {
      setFieldError('Enter your password to confirm.');
      focusInvalid();
      return;
    }
    setPending(true);
    setFieldError(null);
    setError(null);
    try {
      await api('DELETE', '/api/v1/users/me', user.has_password ? { password } : {});
      // The account and its sessions are gone and the refresh cookie is
      // dead: start over with a fresh document (which also drops the
      // in-memory token) instead of letting the session state unwind.
      window.location.replace('/ui/?deleted=1');
    } catch (e) {
      setPending(false);
      if (e instanceof ApiError && e.code === 'invalid_credentials') {
        setFieldError('The password is incorrect.');
        focusInvalid();
      } else if (e instanceof ApiError && e.code === 'last_admin')
        setError('You are the last administrator. Give the admin role to someone else before deleting your account.');
      else setError(errorMessage(e));
    }
  };

  return (
    <Section title="Danger zone" tone="danger" description="Deleting your account removes your profile, ends every session and frees your email address. It cannot be undone.">
      <Button variant="danger" onClick={() => setOpen(true)}>
        Delete account
      </Button>
      <ConfirmDialog
        open={open}
        title="Delete your account?"
        confirmLabel="Delete account"
        destructive
        pending={pending}
        error={error}
        onConfirm={confirm}
        onCancel={close}
      >
        <p>
          This permanently deletes <strong className="break-all">{user.email}</strong> and signs you out everywhere.
        </p>
        {user.has_password && (
          <div ref={fieldRef}>
            <PasswordField
              label="Password"
              name="delete-password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              error={fieldError}
            />
          </div>
        )}
      </ConfirmDialog>
    </Section>
  );
}
