import { formatDateTime, formatRelative } from '@/lib/format';

/** A time as "3 min ago", with the exact time on hover and for screen readers. */
export function RelativeTime({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={formatDateTime(iso)}>
      {formatRelative(iso)}
    </time>
  );
}
