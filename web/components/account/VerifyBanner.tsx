'use client';
import { useState } from 'react';
import { api } from '@/lib/api';
import { errorMessage } from '@/lib/messages';
import { useSession } from '@/lib/session';
import { Button } from '@/components/ui/Button';

// Shown while the address is unverified: the one thing to do next.
export function VerifyBanner() {
  const { user } = useSession();
  const [pending, setPending] = useState(false);
  const [sent, setSent] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!user || user.email_verified) return null;

  const resend = async () => {
    setPending(true);
    setError(null);
    try {
      await api('POST', '/api/v1/auth/email/resend');
      setSent(true);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setPending(false);
    }
  };

  return (
    <div className="rounded-xl border border-amber-300 bg-amber-50 p-4 text-sm text-amber-950 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100">
      <div className="flex flex-col gap-3 sm:flex-row sm:items-center">
        <div className="min-w-0 flex-1">
          <p className="font-semibold">Verify your email address</p>
          <p className="mt-0.5">
            We sent a link to <strong className="break-all">{user.email}</strong>. Follow it to confirm the address is yours.
          </p>
        </div>
        <Button variant="secondary" pending={pending} disabled={sent} onClick={resend}>
          Resend verification
        </Button>
      </div>
      <div role="status" className="empty:hidden mt-2">
        {sent ? 'Sent. Check your inbox; earlier links no longer work.' : ''}
      </div>
      {error && (
        <p role="alert" className="mt-2 font-medium text-red-800 dark:text-red-200">
          {error}
        </p>
      )}
    </div>
  );
}
