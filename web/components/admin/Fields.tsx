'use client';
// Form controls the shared UI kit does not have: a labelled select and a
// labelled checkbox, styled like its text fields; and the frame and footer
// of the console's inline editor forms (a new client, a role).
import { useId, type ReactNode, type SelectHTMLAttributes } from 'react';
import { Button } from '@/components/ui/Button';
import { FormError } from '@/components/ui/FormError';
import { fieldBorder, inputClass as kitInput } from '@/components/ui/TextField';

// The kit's text-field look, for controls it has no component for.
export const inputClass = `${kitInput} ${fieldBorder(false)}`;
const control = inputClass;

export function Select({
  label,
  children,
  className = '',
  ...rest
}: { label: string; children: ReactNode } & SelectHTMLAttributes<HTMLSelectElement>) {
  const id = useId();
  return (
    <div className={className}>
      <label htmlFor={id} className="mb-1 block text-sm font-medium text-zinc-800 dark:text-zinc-200">
        {label}
      </label>
      <select id={id} className={control} {...rest}>
        {children}
      </select>
    </div>
  );
}

export function Checkbox({
  label,
  hint,
  checked,
  disabled,
  onChange,
}: {
  label: string;
  hint?: string;
  checked: boolean;
  disabled?: boolean;
  onChange: (checked: boolean) => void;
}) {
  const id = useId();
  return (
    <div className="flex items-start gap-2">
      <input
        id={id}
        type="checkbox"
        checked={checked}
        disabled={disabled}
        aria-describedby={hint ? `${id}-hint` : undefined}
        onChange={(e) => onChange(e.target.checked)}
        className="mt-0.5 h-4 w-4 rounded border-zinc-400 accent-brand"
      />
      <div className="text-sm">
        <label htmlFor={id} className="font-mono font-medium text-zinc-900 dark:text-zinc-100">
          {label}
        </label>
        {hint && (
          <p id={`${id}-hint`} className="text-zinc-600 dark:text-zinc-400">
            {hint}
          </p>
        )}
      </div>
    </div>
  );
}

/** The frame of an inline editor form. */
export const editorClass = 'mt-4 rounded-lg border border-zinc-300 bg-white p-4 shadow-sm sm:p-5 dark:border-zinc-600 dark:bg-zinc-900';

/** The end of an inline editor form: its error, then submit and Cancel, then any further buttons. */
export function EditorActions({
  error,
  pending,
  submitLabel,
  onCancel,
  children,
}: {
  error: string | null;
  pending: boolean;
  submitLabel: string;
  onCancel: () => void;
  children?: ReactNode;
}) {
  return (
    <>
      {error && (
        <div className="mt-4">
          <FormError message={error} />
        </div>
      )}
      <div className="mt-5 flex flex-wrap items-center gap-2">
        <Button type="submit" pending={pending}>
          {submitLabel}
        </Button>
        <Button variant="secondary" onClick={onCancel} disabled={pending}>
          Cancel
        </Button>
        {children}
      </div>
    </>
  );
}
