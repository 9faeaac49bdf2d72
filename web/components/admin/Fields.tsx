'use client';
// Form controls the shared UI kit does not have: a labelled select and a
// labelled checkbox, styled like its text fields.
import { useId, type ReactNode, type SelectHTMLAttributes } from 'react';
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
