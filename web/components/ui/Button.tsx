'use client';
import { useCallback, useEffect, useLayoutEffect, useRef, type ButtonHTMLAttributes, type Ref } from 'react';
import { Spinner } from './Spinner';

export type ButtonVariant = 'primary' | 'secondary' | 'danger' | 'ghost';

const base =
  'inline-flex min-h-10 items-center justify-center gap-2 rounded-lg px-4 py-2 text-sm font-semibold transition-colors ' +
  'disabled:cursor-not-allowed disabled:opacity-60 focus-visible:outline-2 focus-visible:outline-offset-2';

const variants: Record<ButtonVariant, string> = {
  primary: 'bg-brand text-brand-fg shadow-sm hover:brightness-110 disabled:hover:brightness-100',
  secondary:
    'border border-zinc-300 bg-white text-zinc-900 shadow-sm hover:bg-zinc-50 ' +
    'dark:border-zinc-600 dark:bg-zinc-800 dark:text-zinc-100 dark:hover:bg-zinc-700',
  danger: 'bg-red-700 text-white shadow-sm hover:bg-red-800 dark:bg-red-600 dark:hover:bg-red-500',
  ghost: 'text-zinc-700 hover:bg-zinc-100 dark:text-zinc-200 dark:hover:bg-zinc-800',
};

export type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & {
  variant?: ButtonVariant;
  /** Submitting: the button is disabled and shows a spinner; its name stays the same. */
  pending?: boolean;
  block?: boolean;
  ref?: Ref<HTMLButtonElement>;
};

export function Button({ variant = 'primary', pending = false, block = false, className = '', disabled, children, type = 'button', ref, ...rest }: ButtonProps) {
  const inner = useRef<HTMLButtonElement | null>(null);
  const hadFocus = useRef(false);
  const setRef = useCallback(
    (el: HTMLButtonElement | null) => {
      inner.current = el;
      if (typeof ref === 'function') ref(el);
      else if (ref) (ref as { current: HTMLButtonElement | null }).current = el;
    },
    [ref],
  );

  // Disabling a focused button drops focus to <body>; a keyboard user would
  // have to start over from the top. Give it back when the wait is over,
  // unless something else (an error message) has taken it meanwhile.
  useLayoutEffect(() => {
    if (pending) hadFocus.current = document.activeElement === inner.current;
  }, [pending]);
  useEffect(() => {
    if (pending || !hadFocus.current) return;
    hadFocus.current = false;
    const active = document.activeElement;
    if ((!active || active === document.body) && inner.current?.isConnected && !inner.current.disabled) inner.current.focus();
  }, [pending]);

  return (
    <button
      ref={setRef}
      type={type}
      disabled={disabled || pending}
      aria-busy={pending || undefined}
      className={`${base} ${variants[variant]} ${block ? 'w-full' : ''} ${className}`}
      {...rest}
    >
      {pending && <Spinner />}
      {children}
    </button>
  );
}
