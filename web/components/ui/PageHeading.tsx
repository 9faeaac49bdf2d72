'use client';
import { useEffect, useRef, type ReactNode } from 'react';

// Pages shown in this document so far. The first one is a fresh load (the
// browser starts at the top); after a client-side route change, focus moves
// to the new page's heading so keyboard and screen-reader users land there.
let pagesShown = 0;

export function PageHeading({ children, className = '', level = 1 }: { children: ReactNode; className?: string; level?: 1 | 2 }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (pagesShown++ > 0) ref.current?.focus();
  }, []);
  const Tag = level === 1 ? 'h1' : 'h2';
  return (
    <Tag ref={ref} tabIndex={-1} className={`text-xl font-semibold tracking-tight text-zinc-900 focus:outline-none dark:text-zinc-50 ${className}`}>
      {children}
    </Tag>
  );
}
