'use client';
// Previous/next pagination for cursor-paged listings (useCursorList).
import { Button } from '@/components/ui/Button';
import type { CursorList } from '@/lib/admin';

export function Pager({ label, list }: { label: string; list: CursorList<unknown> }) {
  const { page, hasPrev, hasNext, prevPage, nextPage } = list;
  if (!hasPrev && !hasNext) return null;
  const busy = list.state.status === 'loading';
  return (
    <nav aria-label={label} className="mt-4 flex items-center justify-between gap-3">
      <Button variant="secondary" onClick={prevPage} disabled={!hasPrev || busy}>
        Previous page
      </Button>
      <span className="text-sm text-zinc-600 dark:text-zinc-400">Page {page}</span>
      <Button variant="secondary" onClick={nextPage} disabled={!hasNext || busy}>
        Next page
      </Button>
    </nav>
  );
}
