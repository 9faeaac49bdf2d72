// Client-side checks that spare a round trip; the server checks again.

export function emailError(email: string): string | null {
  const v = email.trim();
  if (!v) return 'Enter your email address.';
  if (!/^[^\s@]+@[^\s@]+$/.test(v)) return 'Enter a valid email address, like name@example.com.';
  return null;
}

/** Focuses the first field of the form that is marked invalid. */
export function focusFirstInvalid(form: HTMLFormElement | null) {
  requestAnimationFrame(() => form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus());
}
