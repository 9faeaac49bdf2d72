'use client';
// What the sign-in and sign-up pages show while a session is being set up
// (or was already there) and the page is about to leave.
import { AuthShell } from '@/components/ui/AuthShell';
import { Spinner } from '@/components/ui/Spinner';

export function SigningIn({ title }: { title: string }) {
  return (
    <AuthShell title={title}>
      <div className="flex justify-center py-6">
        <Spinner label="Signing you in…" />
      </div>
    </AuthShell>
  );
}
