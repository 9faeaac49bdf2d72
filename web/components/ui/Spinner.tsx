// A small busy indicator. With a label it is announced (role=status);
// without one it is decoration next to text that already says what happens.
export function Spinner({ label, className = '' }: { label?: string; className?: string }) {
  const icon = (
    <svg className={`size-4 animate-spin ${className}`} viewBox="0 0 24 24" fill="none" aria-hidden="true">
      <circle cx="12" cy="12" r="10" stroke="currentColor" strokeOpacity="0.25" strokeWidth="4" />
      <path d="M22 12a10 10 0 0 0-10-10" stroke="currentColor" strokeWidth="4" strokeLinecap="round" />
    </svg>
  );
  if (!label) return icon;
  return (
    <span role="status" className="inline-flex items-center gap-2 text-sm text-zinc-600 dark:text-zinc-400">
      {icon}
      <span>{label}</span>
    </span>
  );
}
