'use client';
import { useConfig } from '@/lib/config';

// The product's logo, or its name as text when no logo is configured.
export function Brand({ size = 'lg' }: { size?: 'lg' | 'sm' }) {
  const cfg = useConfig();
  const h = size === 'lg' ? 'h-10' : 'h-7';
  if (!cfg) return <span className={`block ${h}`} aria-hidden="true" />;
  if (cfg.logo_url) {
    // eslint-disable-next-line @next/next/no-img-element -- static export, remote logo allowed by the CSP
    return <img src={cfg.logo_url} alt={cfg.product_name} className={`${h} w-auto max-w-48 object-contain`} />;
  }
  return (
    <span className={`flex ${h} items-center gap-2 font-semibold tracking-tight ${size === 'lg' ? 'text-2xl' : 'text-lg'}`}>
      <span aria-hidden="true" className={`inline-flex ${size === 'lg' ? 'size-9 text-lg' : 'size-7 text-sm'} items-center justify-center rounded-lg bg-brand text-brand-fg`}>
        {cfg.product_name.slice(0, 1).toUpperCase()}
      </span>
      <span>{cfg.product_name}</span>
    </span>
  );
}
