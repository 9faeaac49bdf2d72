'use client';
import { useState } from 'react';
import { loadConfig } from '@/lib/config';
import { newPkce, rememberPkce } from '@/lib/pkce';
import type { Provider } from '@/lib/providers';
import { Button } from '@/components/ui/Button';

// "Continue with …" for each enabled provider, then "or" before the page's
// own form; nothing while the providers load or when none is enabled.
// Starting one leaves the page for authd's start endpoint, which sends the
// browser to the provider and back to /ui/?code=….
export function SocialButtons({ providers, redirectTo, onError }: { providers: Provider[] | null; redirectTo: string | null; onError(msg: string): void }) {
  const [pending, setPending] = useState<string | null>(null);
  if (!providers || providers.length === 0) return null;

  const start = async (p: Provider) => {
    setPending(p.name);
    try {
      const cfg = await loadConfig();
      const pkce = await newPkce();
      rememberPkce(pkce?.verifier ?? null, redirectTo);
      const q = new URLSearchParams({ redirect_to: `${cfg.issuer}/ui/` });
      if (pkce) {
        q.set('code_challenge', pkce.challenge);
        q.set('code_challenge_method', 'S256');
      }
      window.location.assign(`/api/v1/oauth/${encodeURIComponent(p.name)}/start?${q}`);
    } catch {
      setPending(null);
      onError(`Could not start signing in with ${p.display_name}. Try again.`);
    }
  };

  return (
    <>
      <div className="space-y-2.5">
        {providers.map((p) => (
          <Button key={p.name} variant="secondary" block pending={pending === p.name} disabled={pending !== null} onClick={() => start(p)}>
            Continue with {p.display_name}
          </Button>
        ))}
      </div>
      <Divider>or</Divider>
    </>
  );
}

function Divider({ children }: { children: string }) {
  return (
    <div className="my-6 flex items-center gap-3 text-xs uppercase tracking-wide text-zinc-600 dark:text-zinc-400" role="separator" aria-label={children}>
      <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-700" aria-hidden="true" />
      <span aria-hidden="true">{children}</span>
      <span className="h-px flex-1 bg-zinc-200 dark:bg-zinc-700" aria-hidden="true" />
    </div>
  );
}
