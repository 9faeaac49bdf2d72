'use client';
// Small helpers for URLs the pages read once and then tidy away.
import { useEffect, useState } from 'react';

/**
 * The page's query parameters, or null during the first render: the static
 * HTML was rendered without them, and the first client render has to match
 * it (hydration), so they arrive right after.
 */
export function useQueryParams(): URLSearchParams | null {
  const [params, setParams] = useState<URLSearchParams | null>(null);
  useEffect(() => setParams(new URLSearchParams(window.location.search)), []);
  return params;
}

/** The query parameters of the page as it was loaded (client only). */
export function queryParams(): URLSearchParams {
  if (typeof window === 'undefined') return new URLSearchParams();
  return new URLSearchParams(window.location.search);
}

/**
 * Removes the given query parameters (and the fragment) from the address
 * bar without a navigation, so one-time values (codes, tokens) are not kept
 * in history or shared by copying the URL.
 */
export function scrubUrl(params: string[] = []) {
  const url = new URL(window.location.href);
  for (const p of params) url.searchParams.delete(p);
  url.hash = '';
  window.history.replaceState(window.history.state, '', url.pathname + url.search);
}

const fragmentTokens = new Map<string, string | null>();

/**
 * The `#token=` of a mailed link, read once per page and then cleared from
 * the URL (memoised so a re-run effect still sees it).
 */
export function takeFragmentToken(): string | null {
  const key = window.location.pathname;
  if (fragmentTokens.has(key)) return fragmentTokens.get(key) ?? null;
  const hash = window.location.hash.replace(/^#/, '');
  const token = new URLSearchParams(hash).get('token');
  fragmentTokens.set(key, token && token.trim() ? token.trim() : null);
  if (hash) scrubUrl();
  return fragmentTokens.get(key) ?? null;
}

type Router = { replace(href: string): void };

/**
 * Goes to where the user should land after signing in: a page of ours by
 * client-side navigation (the session stays in memory), anything else (an
 * allowed app URL) by a full navigation.
 */
export function goTo(router: Router, target: string) {
  if (target.startsWith('/ui/')) router.replace(target.slice(3));
  else window.location.assign(target);
}
