'use client';
import { useId, useRef, type FormEvent, type ReactNode } from 'react';
import { Alert } from './Alert';
import { Button } from './Button';
import { useModal } from './useModal';

export type ConfirmDialogProps = {
  open: boolean;
  title: string;
  children?: ReactNode;
  confirmLabel: string;
  cancelLabel?: string;
  destructive?: boolean;
  pending?: boolean;
  error?: string | null;
  onConfirm(): void;
  onCancel(): void;
};

// A modal confirmation on the native <dialog>: showModal() traps focus and
// makes the page inert, Escape cancels. Focus starts on the first field of
// the body (or Cancel, the safe choice) and goes back to whatever opened it.
export function ConfirmDialog({ open, title, children, confirmLabel, cancelLabel = 'Cancel', destructive, pending, error, onConfirm, onCancel }: ConfirmDialogProps) {
  const cancelRef = useRef<HTMLButtonElement>(null);
  const modal = useModal(
    open,
    () => {
      if (!pending) onCancel();
    },
    (d) => {
      const field = d.querySelector<HTMLElement>('input, select, textarea');
      (field ?? cancelRef.current)?.focus();
    },
  );
  const titleId = useId();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!pending) onConfirm();
  };

  return (
    <dialog
      {...modal}
      aria-labelledby={titleId}
      className="m-auto w-[calc(100%-2rem)] max-w-md rounded-2xl border border-zinc-200 bg-white p-0 text-zinc-900 shadow-xl dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100"
    >
      <form onSubmit={submit} className="space-y-4 p-6">
        <h2 id={titleId} className="text-lg font-semibold">
          {title}
        </h2>
        {children && <div className="space-y-4 text-sm text-zinc-700 dark:text-zinc-300">{children}</div>}
        {error && <Alert tone="error">{error}</Alert>}
        <div className="flex flex-col-reverse gap-2 pt-2 sm:flex-row sm:justify-end">
          <Button ref={cancelRef} variant="secondary" onClick={onCancel} disabled={pending}>
            {cancelLabel}
          </Button>
          <Button type="submit" variant={destructive ? 'danger' : 'primary'} pending={pending}>
            {confirmLabel}
          </Button>
        </div>
      </form>
    </dialog>
  );
}
