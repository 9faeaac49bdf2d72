'use client';
// Client-side checks that spare a round trip; the server checks again.
import { useCallback, useEffect, useState, type RefObject } from 'react';

export function emailError(email: string): string | null {
  const v = email.trim();
  if (!v) return 'Enter your email address.';
  if (!/^[^\s@]+@[^\s@]+$/.test(v)) return 'Enter a valid email address, like name@example.com.';
  return null;
}

/**
 * Returns a function that moves focus to the first field of the form marked
 * invalid. The move happens in an effect, after the errors are rendered (and
 * after a submit button has taken focus back from its pending state).
 */
export function useFocusInvalid(form: RefObject<HTMLElement | null>): () => void {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (tick) form.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [tick, form]);
  return useCallback(() => setTick((t) => t + 1), []);
}
