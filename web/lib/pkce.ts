'use client';
// PKCE for social sign-in: the verifier stays in this tab's sessionStorage
// across the round trip to the provider, so only this tab can trade the
// code authd sends back.

const VERIFIER_KEY = 'authd.pkce_verifier';
const REDIRECT_KEY = 'authd.pkce_redirect_to';

function base64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A fresh verifier (43 characters) and its S256 challenge, or null without WebCrypto digests (non-secure context). */
export async function newPkce(): Promise<{ verifier: string; challenge: string } | null> {
  if (!globalThis.crypto?.subtle) return null;
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return { verifier, challenge: base64url(new Uint8Array(digest)) };
}

export function rememberPkce(verifier: string | null, redirectTo: string | null) {
  try {
    if (verifier) sessionStorage.setItem(VERIFIER_KEY, verifier);
    else sessionStorage.removeItem(VERIFIER_KEY);
    if (redirectTo) sessionStorage.setItem(REDIRECT_KEY, redirectTo);
    else sessionStorage.removeItem(REDIRECT_KEY);
  } catch {
    /* storage disabled: the exchange then goes without a verifier */
  }
}

/** The verifier and redirect_to kept at start; each is read once. */
export function takePkce(): { verifier: string | null; redirectTo: string | null } {
  try {
    const verifier = sessionStorage.getItem(VERIFIER_KEY);
    const redirectTo = sessionStorage.getItem(REDIRECT_KEY);
    sessionStorage.removeItem(VERIFIER_KEY);
    sessionStorage.removeItem(REDIRECT_KEY);
    return { verifier, redirectTo };
  } catch {
    return { verifier: null, redirectTo: null };
  }
}
