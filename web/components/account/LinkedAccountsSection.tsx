'use client';
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError } from '@/lib/api';
import { loadConfig } from '@/lib/config';
import { date, relativeTime } from '@/lib/format';
import { errorMessage } from '@/lib/messages';
import { useProviders, type Provider } from '@/lib/providers';
import { useSession } from '@/lib/session';
import { Alert } from '@/components/ui/Alert';
import { Button } from '@/components/ui/Button';
import { Spinner } from '@/components/ui/Spinner';
import { Section } from './Section';

type Identity = { provider: string; subject: string; email: string; email_verified: boolean; created_at: string; last_used_at: string };

// What the link round trip's ?error= means.
export const linkErrors: Record<string, string> = {
  identity_in_use: 'That account is already linked to a different user here. Sign in with it to use that user, or unlink it there first.',
  already_linked: 'You already have an account of that provider linked. Unlink it first to link another one.',
  access_denied: 'Linking was cancelled at the provider. Nothing was changed.',
  provider_error: 'The provider could not link your account. Try again.',
  provider_unavailable: 'The provider is not reachable right now. Try again in a moment.',
  invalid_state: 'That link attempt took too long or was started in another window. Try again.',
  email_not_verified: 'The provider has not verified the email address of that account, so it cannot be linked.',
  account_disabled: 'This account has been disabled.',
};

/** The result of a link round trip: ?linked=<provider> or ?error=<code>. */
export function LinkedAccountsSection({ notice }: { notice: { linked?: string; error?: string } | null }) {
  const { user, reload } = useSession();
  const providers = useProviders();
  const [identities, setIdentities] = useState<Identity[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const r = await api<{ identities: Identity[] }>('GET', '/api/v1/oauth/identities');
      setIdentities(r.identities ?? []);
      setLoadError(null);
    } catch (e) {
      setLoadError(errorMessage(e));
    }
  }, []);

  useEffect(() => {
    load();
  }, [load]);

  const link = async (p: Provider) => {
    setBusy(p.name);
    setError(null);
    setMessage(null);
    try {
      const cfg = await loadConfig();
      const r = await api<{ location: string }>('POST', `/api/v1/oauth/${encodeURIComponent(p.name)}/link`, { redirect_to: `${cfg.issuer}/ui/account/` });
      window.location.assign(r.location);
    } catch (e) {
      setBusy(null);
      setError(errorMessage(e));
    }
  };

  const unlink = async (p: Provider) => {
    setBusy(p.name);
    setError(null);
    setMessage(null);
    try {
      await api('DELETE', `/api/v1/oauth/identities/${encodeURIComponent(p.name)}`);
      setMessage(`Unlinked ${p.display_name}. You can no longer sign in with it.`);
      await reload();
    } catch (e) {
      if (e instanceof ApiError && e.code === 'last_sign_in_method') {
        setError(
          `${p.display_name} is your only way to sign in, so it cannot be unlinked. ` +
            (user?.has_password ? 'Link another account first.' : 'Set a password above, or link another account, first.'),
        );
      } else if (e instanceof ApiError && e.status === 404) {
        setMessage(`${p.display_name} was already unlinked.`);
      } else {
        setError(errorMessage(e));
      }
    } finally {
      setBusy(null);
      await load();
    }
  };

  const loading = providers === null || (identities === null && !loadError);
  // Linked identities of providers no longer configured still deserve a row.
  const known = new Set((providers ?? []).map((p) => p.name));
  const rows: Provider[] = [
    ...(providers ?? []),
    ...(identities ?? []).filter((i) => !known.has(i.provider)).map((i) => ({ name: i.provider, display_name: i.provider })),
  ];

  return (
    <Section title="Linked accounts" description="Accounts at other providers you can sign in with.">
      <div className="space-y-4">
        {notice?.linked && (
          <Alert tone="success">
            Linked your {(providers ?? []).find((p) => p.name === notice.linked)?.display_name ?? notice.linked} account. You can now sign in with it.
          </Alert>
        )}
        {notice?.error && <Alert tone="error">{linkErrors[notice.error] ?? 'Linking the account did not work. Try again.'}</Alert>}
        {error && <Alert tone="error">{error}</Alert>}
        {message && <Alert tone="success">{message}</Alert>}
        {loadError && (
          <Alert tone="error">
            {loadError}{' '}
            <button type="button" className="font-semibold underline" onClick={load}>
              Try again
            </button>
          </Alert>
        )}
        {loading ? (
          <Spinner label="Loading linked accounts…" />
        ) : rows.length === 0 ? (
          <p className="text-sm text-zinc-600 dark:text-zinc-400">No sign-in providers are set up.</p>
        ) : (
          <ul className="divide-y divide-zinc-200 rounded-xl border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800">
            {rows.map((p) => {
              const id = identities?.find((i) => i.provider === p.name);
              const configured = known.has(p.name);
              return (
                <li key={p.name} className="flex flex-col gap-2 p-3.5 sm:flex-row sm:items-center sm:gap-3">
                  <div className="min-w-0 flex-1 text-sm">
                    <p className="font-medium text-zinc-900 dark:text-zinc-100">{p.display_name}</p>
                    <p className="text-zinc-600 dark:text-zinc-400">
                      {id ? (
                        <>
                          <span className="break-all">{id.email || 'Linked'}</span> · linked {date(id.created_at)} · last used {relativeTime(id.last_used_at)}
                        </>
                      ) : (
                        'Not linked'
                      )}
                    </p>
                  </div>
                  {id ? (
                    <Button variant="secondary" className="self-start sm:self-auto" pending={busy === p.name} disabled={busy !== null} onClick={() => unlink(p)}>
                      Unlink {p.display_name}
                    </Button>
                  ) : configured ? (
                    <Button variant="secondary" className="self-start sm:self-auto" pending={busy === p.name} disabled={busy !== null || identities === null} onClick={() => link(p)}>
                      Link {p.display_name}
                    </Button>
                  ) : null}
                </li>
              );
            })}
          </ul>
        )}
      </div>
    </Section>
  );
}
