'use client';
import { useEffect, useState } from 'react';
import { api } from './api';

export type Provider = { name: string; display_name: string };

let cached: Promise<Provider[]> | null = null;

/** The enabled social providers (empty when none, or when the list cannot be read). */
export function useProviders(): Provider[] | null {
  const [list, setList] = useState<Provider[] | null>(null);
  useEffect(() => {
    let live = true;
    if (!cached) {
      cached = api<{ providers: Provider[] }>('GET', '/api/v1/oauth/providers')
        .then((r) => (Array.isArray(r?.providers) ? r.providers : []))
        .catch(() => {
          cached = null;
          return [];
        });
    }
    cached.then((p) => live && setList(p));
    return () => {
      live = false;
    };
  }, []);
  return list;
}
