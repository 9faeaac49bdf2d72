'use client';
// The native <dialog> as a modal driven by a prop: showModal() gives the
// focus trap and an inert page behind it. Escape calls onCancel (the
// browser's own close is prevented: open stays the one truth). On open,
// focusFirst places the focus; on close, the focus goes back to the element
// that had it before, if that is still on the page (a re-render may have
// replaced it). Spread the result on the <dialog>.
import { useEffect, useRef, type SyntheticEvent } from 'react';

export function useModal(open: boolean, onCancel: () => void, focusFirst?: (dialog: HTMLDialogElement) => void) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<Element | null>(null);
  const focusRef = useRef(focusFirst);
  focusRef.current = focusFirst;

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      opener.current = document.activeElement;
      d.showModal();
      focusRef.current?.(d);
    } else if (!open && d.open) {
      d.close();
      const el = opener.current as HTMLElement | null;
      opener.current = null;
      if (el && el.isConnected && typeof el.focus === 'function') el.focus();
    }
  }, [open]);

  return {
    ref,
    onCancel: (e: SyntheticEvent<HTMLDialogElement>) => {
      e.preventDefault();
      onCancel();
    },
  };
}
