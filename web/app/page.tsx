'use client';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useRouter } from 'next/navigation';
import { ApiError, exchangeSocialCode, signIn } from '@/lib/api';
import { loadConfig, safeRedirect, useConfig } from '@/lib/config';
import { errorMessage } from '@/lib/messages';
import { goTo, scrubUrl, useQueryParams } from '@/lib/nav';
import { takePkce } from '@/lib/pkce';
import { useProviders } from '@/lib/providers';
import { useSession } from '@/lib/session';
import { emailError, useFocusInvalid } from '@/lib/validate';
import { SigningIn } from '@/components/auth/SigningIn';
import { SocialButtons } from '@/components/auth/SocialButtons';
import { Alert } from '@/components/ui/Alert';
import { AuthShell } from '@/components/ui/AuthShell';
import { Button } from '@/components/ui/Button';
import { FormError } from '@/components/ui/FormError';
import { PasswordField } from '@/components/ui/PasswordField';
import { EmailField } from '@/components/ui/TextField';
import { TextLink } from '@/components/ui/TextLink';

// What the social sign-in's ?error= means, in words.
const socialErrors: Record<string, string> = {
  access_denied: 'Sign-in was cancelled at the provider. Nothing was changed.',
  provider_error: 'The provider could not sign you in. Try again.',
  provider_unavailable: 'The provider is not reachable right now. Try again in a moment, or sign in with your password.',
  invalid_state: 'That sign-in took too long or was started in another window. Try again.',
  email_not_verified: 'The provider has not verified your email address. Verify it there first, or sign in with your password.',
  account_disabled: 'This account has been disabled. Contact your administrator if you think this is a mistake.',
};

// One exchange per code, even if the effect runs twice.
const exchanges = new Map<string, Promise<unknown>>();

export default function SignInPage() {
  const router = useRouter();
  const cfg = useConfig();
  const session = useSession();
  const providers = useProviders();
  const formRef = useRef<HTMLFormElement>(null);
  const focusInvalid = useFocusInvalid(formRef);
  const params = useQueryParams();
  const redirectParam = params?.get('redirect_to') ?? null;
  const code = params?.get('code') ?? null;
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [fieldErrors, setFieldErrors] = useState<{ email?: string | null; password?: string | null }>({});
  const [deleted, setDeleted] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const [exchanging, setExchanging] = useState(false);
  const leaving = useRef(false);

  // What the address brought: a social sign-in's one-time code (traded,
  // with this tab's PKCE verifier, for a session) or its error, or the
  // note that the account was just deleted. Each is removed from the URL.
  useEffect(() => {
    if (!params) return;
    const socialError = params.get('error');
    if (socialError) setError(socialErrors[socialError] ?? 'Signing in with the provider did not work. Try again.');
    if (params.get('deleted') === '1') setDeleted(true);
    if (socialError || params.has('deleted')) scrubUrl(['error', 'deleted']);
    if (!code) return;
    setExchanging(true);
    let p = exchanges.get(code);
    if (!p) {
      const kept = takePkce();
      scrubUrl(['code']);
      p = exchangeSocialCode(code, kept.verifier).then(() => kept.redirectTo);
      exchanges.set(code, p);
    }
    let live = true;
    p.then(
      async (redirectTo) => {
        if (!live) return;
        leaving.current = true;
        await session.reload();
        goTo(router, safeRedirect((redirectTo as string | null) ?? redirectParam, await loadConfig()));
      },
      (e) => {
        if (!live) return;
        setExchanging(false);
        setError(
          e instanceof ApiError && e.code === 'invalid_token'
            ? 'That sign-in expired or was already used. Try again.'
            : errorMessage(e),
        );
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- once, when the parameters are read
  }, [params]);

  // Already signed in (restored from the cookie): nothing to do here.
  useEffect(() => {
    if (params && session.status === 'signed-in' && !code && !leaving.current && cfg) {
      leaving.current = true;
      goTo(router, safeRedirect(redirectParam, cfg));
    }
  }, [params, session.status, code, cfg, redirectParam, router]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (pending) return;
    const errs = { email: emailError(email), password: password ? null : 'Enter your password.' };
    setFieldErrors(errs);
    setError(null);
    if (errs.email || errs.password) {
      focusInvalid();
      return;
    }
    setPending(true);
    session.clearNotice();
    try {
      await signIn(email.trim(), password);
      leaving.current = true;
      await session.reload();
      goTo(router, safeRedirect(redirectParam, cfg));
    } catch (err) {
      leaving.current = false;
      setPending(false);
      setError(errorMessage(err));
    }
  };

  if (exchanging || (session.status === 'signed-in' && !error)) {
    return <SigningIn title="Sign in" />;
  }

  const signUpHref = redirectParam ? `/sign-up/?redirect_to=${encodeURIComponent(redirectParam)}` : '/sign-up/';
  return (
    <AuthShell
      title="Sign in"
      description={cfg ? `to continue to ${cfg.product_name}` : undefined}
      footer={
        <>
          New here? <TextLink href={signUpHref}>Create an account</TextLink>
        </>
      }
    >
      <div className="space-y-5">
        {deleted && !error && <Alert tone="success">Your account was deleted.</Alert>}
        {session.notice && !error && !deleted && <Alert tone="info">{session.notice}</Alert>}
        <FormError message={error} />
        <SocialButtons providers={providers} redirectTo={redirectParam} onError={setError} />
        <form ref={formRef} onSubmit={submit} noValidate className="space-y-4">
          <EmailField
            label="Email"
            name="email"
            autoComplete="username"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            error={fieldErrors.email}
            required
          />
          <div className="space-y-1.5">
            <PasswordField
              label="Password"
              name="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              error={fieldErrors.password}
              required
            />
            <div className="text-right text-sm">
              <TextLink href="/forgot-password/">Forgot password?</TextLink>
            </div>
          </div>
          <Button type="submit" block pending={pending}>
            Sign in
          </Button>
        </form>
      </div>
    </AuthShell>
  );
}
