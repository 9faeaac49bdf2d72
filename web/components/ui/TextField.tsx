'use client';
import { useId, type InputHTMLAttributes, type ReactNode, type Ref } from 'react';

export type TextFieldProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'id'> & {
  label: string;
  hint?: ReactNode;
  /** Shown under the field; marks it aria-invalid and describes it. */
  error?: string | null;
  /** Rendered inside the field's frame, at its end (e.g. a show/hide button). */
  trailing?: ReactNode;
  id?: string;
  ref?: Ref<HTMLInputElement>;
};

export const inputClass =
  'block w-full rounded-lg border bg-white px-3 py-2 text-base text-zinc-900 shadow-sm placeholder:text-zinc-500 ' +
  'focus:outline-2 focus:outline-offset-0 focus:outline-brand disabled:opacity-60 ' +
  'dark:bg-zinc-900 dark:text-zinc-100 dark:placeholder:text-zinc-400 dark:focus:outline-brand-ink-dark sm:text-sm';

export function fieldBorder(invalid: boolean) {
  return invalid ? 'border-red-600 dark:border-red-400' : 'border-zinc-300 dark:border-zinc-600';
}

export function TextField({ label, hint, error, trailing, id, className = '', ref, ...rest }: TextFieldProps) {
  const auto = useId();
  const fieldId = id ?? `f${auto}`;
  const hintId = hint ? `${fieldId}-hint` : undefined;
  const errorId = error ? `${fieldId}-error` : undefined;
  const describedBy = [errorId, hintId, rest['aria-describedby']].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`space-y-1.5 ${className}`}>
      <label htmlFor={fieldId} className="block text-sm font-medium text-zinc-800 dark:text-zinc-200">
        {label}
      </label>
      <div className="relative">
        <input
          id={fieldId}
          ref={ref}
          {...rest}
          aria-invalid={error ? true : undefined}
          aria-describedby={describedBy}
          className={`${inputClass} ${fieldBorder(!!error)} ${trailing ? 'pr-20' : ''}`}
        />
        {trailing && <div className="absolute inset-y-0 right-0 flex items-center pr-1.5">{trailing}</div>}
      </div>
      {error && (
        <p id={errorId} className="flex items-start gap-1.5 text-sm text-red-700 dark:text-red-300">
          <svg viewBox="0 0 20 20" fill="currentColor" aria-hidden="true" className="mt-0.5 size-4 shrink-0">
            <path fillRule="evenodd" d="M18 10a8 8 0 11-16 0 8 8 0 0116 0zm-8-5a.75.75 0 01.75.75v4.5a.75.75 0 01-1.5 0v-4.5A.75.75 0 0110 5zm0 10a1 1 0 100-2 1 1 0 000 2z" clipRule="evenodd" />
          </svg>
          <span>{error}</span>
        </p>
      )}
      {hint && (
        <div id={hintId} className="text-sm text-zinc-600 dark:text-zinc-400">
          {hint}
        </div>
      )}
    </div>
  );
}

/** An email address field: the email keyboard, no autocapitalising or spell-checking. */
export function EmailField(props: Omit<TextFieldProps, 'type' | 'inputMode' | 'autoCapitalize' | 'spellCheck'>) {
  return <TextField type="email" inputMode="email" autoCapitalize="none" spellCheck={false} {...props} />;
}
