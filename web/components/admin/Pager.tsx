'use client';
// Previous/next pagination for cursor-paged listings.
import { Button } from '@/components/ui/Button';

export function Pager({
  label,
  page,
  hasPrev,
  hasNext,
  busy,
  onPrev,
  onNext,
}: {
  label: string;
  page: number;
  hasPrev: boolean;
  hasNext: boolean;
  busy: boolean;
  onPrev: () => void;
  onNext: () => void;
}) {
  if (!hasPrev && !hasNext) return null;
  return (
    <nav aria-label={label} className="mt-4 flex items-center justify-between gap-3">
      <Button variant="secondary" onClick={onPrev} disabled={!hasPrev || busy}>
        Previous page
      </Button>
      <span className="text-sm text-zinc-600 dark:text-zinc-400">Page {page}</span>
      <Button variant="secondary" onClick={onNext} disabled={!hasNext || busy}>
        Next page
      </Button>
    </nav>
  );
}
