import { useId, type ReactNode } from 'react';
import { Card } from '@/components/ui/Card';

// One titled part of the account page; a named region, so assistive tech
// (and tests) can go straight to "Sessions" or "Danger zone".
export function Section({ title, description, children, tone }: { title: string; description?: ReactNode; children: ReactNode; tone?: 'danger' }) {
  const id = useId();
  return (
    <section aria-labelledby={id}>
      <Card className={`p-5 sm:p-6 ${tone === 'danger' ? 'border-red-300 dark:border-red-900' : ''}`}>
        <h2 id={id} className={`text-base font-semibold ${tone === 'danger' ? 'text-red-800 dark:text-red-300' : 'text-zinc-900 dark:text-zinc-50'}`}>
          {title}
        </h2>
        {description && <div className="mt-1 text-sm text-zinc-600 dark:text-zinc-400">{description}</div>}
        <div className="mt-5">{children}</div>
      </Card>
    </section>
  );
}
