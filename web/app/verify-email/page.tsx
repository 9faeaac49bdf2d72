'use client';
import { useEffect, useState } from 'react';
import { api, ApiError, hasToken } from '@/lib/api';
import { errorMessage } from '@/lib/messages';
import { takeFragmentToken } from '@/lib/nav';
import { useSession } from '@/lib/session';
import { Alert } from '@/components/ui/Alert';
import { AuthShell } from '@/components/ui/AuthShell';
import { Spinner } from '@/components/ui/Spinner';
import { TextLink } from '@/components/ui/TextLink';

type State = { kind: 'working' } | { kind: 'done' } | { kind: 'missing' } | { kind: 'failed'; code: string; message: string };

// One verification per token, even if the effect runs twice: the token is
// single use, so a second call would report a failure that did not happen.
const verifications = new Map<string, Promise<void>>();

export default function VerifyEmailPage() {
  const session = useSession();
  const [state, setState] = useState<State>({ kind: 'working' });

  useEffect(() => {
    const token = takeFragmentToken();
    if (!token) {
      setState({ kind: 'missing' });
      return;
    }
    let p = verifications.get(token);
    if (!p) {
      p = api<void>('POST', '/api/v1/auth/email/verify', { token });
      verifications.set(token, p);
    }
    let live = true;
    p.then(
      () => live && setState({ kind: 'done' }),
      (e) => live && setState({ kind: 'failed', code: e instanceof ApiError ? e.code : '', message: errorMessage(e) }),
    );
    return () => {
      live = false;
    };
  }, []);

  // A signed-in tab should see the new state (verified, or the new address).
  useEffect(() => {
    if (state.kind === 'done' && session.status === 'signed-in' && hasToken()) session.reload().catch(() => {});
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once, when verified
  }, [state.kind, session.status]);

  const next = session.status === 'signed-in' ? <TextLink href="/account/">Go to your account</TextLink> : <TextLink href="/">Sign in</TextLink>;

  let body;
  switch (state.kind) {
    case 'working':
      body = (
        <div className="flex justify-center py-4">
          <Spinner label="Verifying your email…" />
        </div>
      );
      break;
    case 'done':
      body = (
        <div className="space-y-4">
          <Alert tone="success" title="Your email is verified">
            Thanks for confirming your address.
          </Alert>
          {next}
        </div>
      );
      break;
    case 'missing':
    case 'failed': {
      const title =
        state.kind === 'missing'
          ? 'This verification link is incomplete.'
          : state.code === 'invalid_token'
            ? 'This verification link has expired or was already used.'
            : state.code === 'email_taken'
              ? 'Another account now uses this email address.'
              : 'Your email could not be verified.';
      const detail =
        state.kind === 'missing'
          ? 'Copy the whole link from the email into the address bar.'
          : state.code === 'invalid_token'
            ? session.status === 'signed-in'
              ? 'Send yourself a new link from your account page.'
              : 'Sign in to send yourself a new link, or check for a newer email.'
            : state.code === 'email_taken'
              ? 'Your account keeps its current address. Choose another one on your account page.'
              : state.message;
      body = (
        <div className="space-y-4">
          <Alert tone="error" title={title}>
            {detail}
          </Alert>
          {next}
        </div>
      );
      break;
    }
  }

  return <AuthShell title="Verify your email">{body}</AuthShell>;
}
