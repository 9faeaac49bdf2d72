'use client';
// A modal dialog on the native <dialog> element (useModal): focus trap,
// Escape to close, an inert page behind it, and focus back to the element
// that opened it on close.
import { useId, type ReactNode } from 'react';
import { useModal } from '@/components/ui/useModal';

export function Dialog({
  open,
  title,
  onClose,
  children,
  initialFocus,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** The element to focus when the dialog opens (default: the first focusable one). */
  initialFocus?: React.RefObject<HTMLElement | null>;
}) {
  const modal = useModal(open, onClose, () => initialFocus?.current?.focus());
  const titleId = useId();

  return (
    <dialog
      {...modal}
      aria-labelledby={titleId}
      className="m-auto w-[min(32rem,calc(100vw-2rem))] rounded-xl border border-zinc-200 bg-white p-0 text-zinc-900 shadow-xl backdrop:bg-black/50 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100"
    >
      {open && (
        <div className="p-5 sm:p-6">
          <h2 id={titleId} className="text-lg font-semibold">
            {title}
          </h2>
          <div className="mt-3">{children}</div>
        </div>
      )}
    </dialog>
  );
}
