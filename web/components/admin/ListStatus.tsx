'use client';
// The loading, error and empty states every admin list shows.
import type { ReactNode } from 'react';
import { ApiError } from '@/lib/api';
import { errorText, type ListState } from '@/lib/admin';
import { Alert } from '@/components/ui/Alert';
import { Button } from '@/components/ui/Button';

export function ListStatus<T>({
  state,
  empty,
  noun,
  onRetry,
}: {
  state: ListState<T>;
  /** Shown when the list loaded and has no item. */
  empty: ReactNode;
  /** What the list holds, for the loading text ("users"). */
  noun: string;
  onRetry: () => void;
}) {
  if (state.status === 'error') {
    // A refusal stays a refusal; only a failure is worth retrying.
    const final = state.error instanceof ApiError && [400, 403, 404].includes(state.error.status);
    return (
      <div className="mt-4">
        <Alert tone="error" title={`Could not load the ${noun}.`}>
          <p>{errorText(state.error)}</p>
          {!final && (
            <Button variant="secondary" className="mt-2" onClick={onRetry}>
              Try again
            </Button>
          )}
        </Alert>
      </div>
    );
  }
  if (state.status === 'loading' && !state.items) {
    return (
      <p role="status" className="mt-4 text-sm text-zinc-600 dark:text-zinc-400">
        Loading {noun}…
      </p>
    );
  }
  if (state.status === 'ready' && state.items.length === 0) {
    return <p className="mt-4 rounded-lg border border-dashed border-zinc-300 p-6 text-center text-sm text-zinc-600 dark:border-zinc-700 dark:text-zinc-400">{empty}</p>;
  }
  return null;
}
