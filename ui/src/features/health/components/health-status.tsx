import { Badge, type BadgeTone } from '@/components/ui/badge';
import { Card } from '@/components/ui/card';

import { useHealth, type Health } from '../api/get-health';
import { summarize, toHealthRows, type HealthRowStatus } from '../utils/health-rows';

const tones: Record<HealthRowStatus, BadgeTone> = {
  ok: 'success',
  error: 'danger',
  missing: 'neutral',
};

export type HealthStatusViewProps = {
  health: Health | undefined;
  isPending: boolean;
  /** Why the last fetch failed, if it did. */
  error: Error | null;
  onRetry?: () => void;
};

/** The panel itself, without fetching: what the tests render. */
export function HealthStatusView({ health, isPending, error, onRetry }: HealthStatusViewProps) {
  const rows = health ? toHealthRows(health) : [];
  const summary = health ? summarize(rows) : undefined;

  return (
    <Card
      title="System health"
      testId="health-panel"
      aside={
        summary && (
          <span
            className={`summary summary--${summary.ok ? 'ok' : 'error'}`}
            data-testid="health-summary"
          >
            {summary.text}
          </span>
        )
      }
    >
      {isPending && !health && (
        <p className="muted" role="status" data-testid="health-loading">
          Checking…
        </p>
      )}
      {error && (
        <div className="alert" role="alert" data-testid="health-error">
          <span>
            {health ? 'Could not refresh system health' : 'Could not load system health'}:{' '}
            {error.message}
          </span>
          {onRetry && (
            <button type="button" className="button" onClick={onRetry}>
              Retry
            </button>
          )}
        </div>
      )}
      {health && (
        <ul className="checks" aria-label="Checks">
          {rows.map((row) => (
            <li key={row.name} className="checks__item" data-testid={`check-${row.name}`}>
              <Badge tone={tones[row.status]}>{row.label}</Badge>
              {row.detail && (
                <span className="checks__detail" title={row.detail}>
                  {row.detail}
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

export function HealthStatus() {
  const query = useHealth();
  return (
    <HealthStatusView
      health={query.data}
      isPending={query.isPending}
      error={query.error}
      onRetry={() => void query.refetch()}
    />
  );
}
