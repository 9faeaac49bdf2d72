'use client';
// Runtime branding and policy, served by authd at /ui/config.json (not part
// of the export, so one build serves every deployment).

import { useEffect, useState } from 'react';

export type UiConfig = {
  product_name: string;
  logo_url: string;
  primary_color: string;
  password: { min_length: number; max_length: number };
  redirect_urls: string[];
  issuer: string;
};

export const defaultConfig: UiConfig = {
  product_name: 'authd',
  logo_url: '',
  primary_color: '#4f46e5',
  password: { min_length: 8, max_length: 256 },
  redirect_urls: [],
  issuer: '',
};

let loaded: Promise<UiConfig> | null = null;
let current: UiConfig | null = null;

function normalise(raw: any): UiConfig {
  const c = { ...defaultConfig, ...(raw && typeof raw === 'object' ? raw : {}) };
  const pw = raw?.password ?? {};
  c.password = {
    min_length: Number.isFinite(pw.min_length) ? pw.min_length : defaultConfig.password.min_length,
    max_length: Number.isFinite(pw.max_length) ? pw.max_length : defaultConfig.password.max_length,
  };
  c.redirect_urls = Array.isArray(c.redirect_urls) ? c.redirect_urls.filter((u: unknown) => typeof u === 'string') : [];
  c.product_name = typeof c.product_name === 'string' && c.product_name.trim() ? c.product_name : defaultConfig.product_name;
  c.logo_url = typeof c.logo_url === 'string' ? c.logo_url : '';
  c.issuer = typeof c.issuer === 'string' && c.issuer ? c.issuer.replace(/\/+$/, '') : '';
  if (!c.issuer && typeof window !== 'undefined') c.issuer = window.location.origin;
  return c;
}

/** Loads /ui/config.json once; falls back to the defaults when it is missing. */
export function loadConfig(): Promise<UiConfig> {
  if (!loaded) {
    loaded = fetch('/ui/config.json', { credentials: 'same-origin', cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : null))
      .catch(() => null)
      .then((raw) => {
        current = normalise(raw);
        applyBrand(current.primary_color);
        return current;
      });
  }
  return loaded;
}

/** The loaded config, or null while it is loading. */
export function useConfig(): UiConfig | null {
  const [c, setC] = useState<UiConfig | null>(current);
  useEffect(() => {
    let live = true;
    loadConfig().then((v) => live && setC(v));
    return () => {
      live = false;
    };
  }, []);
  return c;
}

const HEX = /^#([0-9a-f]{6})$/i;

// Relative luminance per WCAG 2.x.
function luminance(hex: string): number {
  const n = parseInt(hex.slice(1), 16);
  const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
}

/** White or black, whichever contrasts more with the colour. */
export function readableForeground(hex: string): '#ffffff' | '#000000' {
  const l = luminance(hex);
  const onWhite = 1.05 / (l + 0.05);
  const onBlack = (l + 0.05) / 0.05;
  return onWhite >= onBlack ? '#ffffff' : '#000000';
}

// Applied via CSSOM: the CSP allows no style attributes or <style> elements,
// but setting a custom property from script is not restricted.
export function applyBrand(color: string) {
  if (!HEX.test(color)) return;
  const root = document.documentElement.style;
  root.setProperty('--brand', color);
  root.setProperty('--brand-fg', readableForeground(color));
}

const UNSAFE = /[#\\\s\u0000-\u001f\u007f]/;
// A page of our own (e.g. /ui/admin/ after signing in from there) is always
// allowed: same origin, plain path characters only, never `//host`.
const OWN_PAGE = /^\/ui\/[A-Za-z0-9\-_/]*$/;

/**
 * Where to go after signing in. `raw` is honoured only when it is exactly
 * one of the configured redirect URLs (and free of the characters browsers
 * and servers parse differently) or a path of these pages; anything else
 * goes to the account page,
 * so a crafted link cannot send a fresh session elsewhere.
 */
export function safeRedirect(raw: string | null | undefined, cfg: UiConfig | null = current): string {
  const fallback = '/ui/account/';
  if (!raw || UNSAFE.test(raw)) return fallback;
  if (OWN_PAGE.test(raw) && !raw.includes('//')) return raw;
  if (!cfg) return fallback;
  let href: string;
  try {
    href = new URL(raw).href;
  } catch {
    return fallback;
  }
  const allowed = cfg.redirect_urls.some((u) => {
    try {
      return new URL(u).href === href;
    } catch {
      return false;
    }
  });
  return allowed ? href : fallback;
}

/** Sets the document title to "<page> · <product>". */
export function useTitle(page: string) {
  const cfg = useConfig();
  useEffect(() => {
    document.title = `${page} · ${(cfg ?? defaultConfig).product_name}`;
  }, [page, cfg]);
}
