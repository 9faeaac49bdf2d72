'use client';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useRouter } from 'next/navigation';
import { ApiError, signUp } from '@/lib/api';
import { defaultConfig, safeRedirect, useConfig } from '@/lib/config';
import { errorMessage } from '@/lib/messages';
import { goTo, useQueryParams } from '@/lib/nav';
import { useProviders } from '@/lib/providers';
import { useSession } from '@/lib/session';
import { emailError, useFocusInvalid } from '@/lib/validate';
import { NewPasswordField, newPasswordError } from '@/components/auth/PasswordGuidance';
import { SigningIn } from '@/components/auth/SigningIn';
import { SocialButtons } from '@/components/auth/SocialButtons';
import { AuthShell } from '@/components/ui/AuthShell';
import { Button } from '@/components/ui/Button';
import { FormError } from '@/components/ui/FormError';
import { EmailField, TextField } from '@/components/ui/TextField';
import { TextLink } from '@/components/ui/TextLink';

type Errors = { name?: string | null; email?: string | null; password?: string | null };

export default function SignUpPage() {
  const router = useRouter();
  const cfg = useConfig();
  const policy = (cfg ?? defaultConfig).password;
  const session = useSession();
  const providers = useProviders();
  const formRef = useRef<HTMLFormElement>(null);
  const focusInvalid = useFocusInvalid(formRef);
  const params = useQueryParams();
  const redirectParam = params?.get('redirect_to') ?? null;
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [error, setError] = useState<string | null>(null);
  const [emailTaken, setEmailTaken] = useState(false);
  const [pending, setPending] = useState(false);
  const leaving = useRef(false);

  useEffect(() => {
    if (params && session.status === 'signed-in' && !leaving.current && cfg) {
      leaving.current = true;
      goTo(router, safeRedirect(redirectParam, cfg));
    }
  }, [params, session.status, cfg, redirectParam, router]);

  const validate = (): Errors => ({
    name: [...name.trim()].length > 200 ? 'Use at most 200 characters.' : null,
    email: emailError(email),
    password: newPasswordError(password, policy, 'Choose a password.'),
  });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (pending) return;
    const errs = validate();
    setErrors(errs);
    setError(null);
    setEmailTaken(false);
    if (errs.name || errs.email || errs.password) {
      focusInvalid();
      return;
    }
    setPending(true);
    try {
      await signUp(email.trim(), password, name.trim());
      leaving.current = true;
      await session.reload();
      goTo(router, safeRedirect(redirectParam, cfg));
    } catch (err) {
      leaving.current = false;
      setPending(false);
      if (err instanceof ApiError && err.code === 'email_taken') {
        setErrors({ email: 'An account with this email already exists.' });
        setEmailTaken(true);
        focusInvalid();
      } else if (err instanceof ApiError && err.code === 'weak_password') {
        setErrors({ password: err.message || errorMessage(err) });
        focusInvalid();
      } else {
        setError(errorMessage(err));
      }
    }
  };

  if (session.status === 'signed-in') {
    return <SigningIn title="Create your account" />;
  }

  const signInHref = redirectParam ? `/?redirect_to=${encodeURIComponent(redirectParam)}` : '/';
  return (
    <AuthShell
      title="Create your account"
      description={cfg ? `to start using ${cfg.product_name}` : undefined}
      footer={
        <>
          Already have an account? <TextLink href={signInHref}>Sign in</TextLink>
        </>
      }
    >
      <div className="space-y-5">
        <FormError message={error} />
        <SocialButtons providers={providers} redirectTo={redirectParam} onError={setError} />
        <form ref={formRef} onSubmit={submit} noValidate className="space-y-4">
          <TextField label="Name" name="name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} error={errors.name} maxLength={200} />
          <EmailField
            label="Email"
            name="email"
            autoComplete="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            error={errors.email}
            hint={
              emailTaken ? (
                <>
                  <TextLink href={signInHref}>Sign in instead</TextLink> or <TextLink href="/forgot-password/">reset your password</TextLink>.
                </>
              ) : undefined
            }
            required
          />
          <NewPasswordField
            label="Password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            error={errors.password}
            policy={policy}
            required
          />
          <Button type="submit" block pending={pending}>
            Create account
          </Button>
        </form>
      </div>
    </AuthShell>
  );
}
