'use client';
import { useEffect, useRef, type ReactNode } from 'react';

// The error of a whole form (role=alert). It takes focus when it appears:
// the submit button was disabled while pending, so focus would otherwise
// fall back to the page body.
export function FormError({ message, children }: { message: string | null; children?: ReactNode }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (message) ref.current?.focus();
  }, [message]);
  if (!message) return null;
  return (
    <div
      ref={ref}
      tabIndex={-1}
      role="alert"
      className="rounded-lg border border-red-300 bg-red-50 px-3.5 py-3 text-sm text-red-900 focus:outline-2 focus:outline-offset-2 focus:outline-red-600 dark:border-red-800 dark:bg-red-950 dark:text-red-100"
    >
      <p>{message}</p>
      {children}
    </div>
  );
}
