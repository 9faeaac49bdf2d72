'use client';
// The wide-screen table of the admin lists (the cards take over below 640 px):
// a screen-reader caption, a header row of column names, and the rows.
import type { ReactNode } from 'react';

const th = 'px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-zinc-600 dark:text-zinc-400';
/** The class of a cell; a row's header cell adds "text-left font-normal". */
export const td = 'px-3 py-2 align-top text-sm text-zinc-800 dark:text-zinc-200';

export function Table({ caption, columns, children }: { caption: string; columns: string[]; children: ReactNode }) {
  return (
    <div className="relative mt-4 hidden overflow-x-auto rounded-lg border border-zinc-200 sm:block dark:border-zinc-700">
      <table className="min-w-full divide-y divide-zinc-200 dark:divide-zinc-700">
        <caption className="sr-only">{caption}</caption>
        <thead className="bg-zinc-50 dark:bg-zinc-800/60">
          <tr>
            {columns.map((c) => (
              <th key={c} scope="col" className={th}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-200 dark:divide-zinc-700">{children}</tbody>
      </table>
    </div>
  );
}
