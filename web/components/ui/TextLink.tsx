import Link from 'next/link';
import type { ComponentProps } from 'react';

export const linkClass =
  'font-medium text-brand-ink underline-offset-2 hover:underline dark:text-brand-ink-dark rounded-sm';

// A link to another page of the app (client-side navigation, basePath added).
export function TextLink({ className = '', ...rest }: ComponentProps<typeof Link>) {
  return <Link className={`${linkClass} ${className}`} {...rest} />;
}
