'use client';
import { useEffect, type ReactNode } from 'react';
import { loadConfig } from '@/lib/config';
import { SessionProvider } from '@/lib/session';

// Client-side roots of every page: the runtime config (branding) and the
// session.
export function Providers({ children }: { children: ReactNode }) {
  useEffect(() => {
    loadConfig();
  }, []);
  return <SessionProvider>{children}</SessionProvider>;
}
