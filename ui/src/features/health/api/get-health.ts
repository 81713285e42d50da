import { queryOptions, useQuery } from '@tanstack/react-query';

import { ApiError, client } from '@/lib/api-client';

export type CheckStatus = 'ok' | 'error';

export type HealthCheck = {
  status: CheckStatus;
  detail?: string;
};

export type Health = {
  status: CheckStatus;
  checks: Record<string, HealthCheck>;
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseStatus(value: unknown): CheckStatus {
  return value === 'ok' ? 'ok' : 'error';
}

/** Checks the shape of a `/healthz` body; throws when it is not one. */
export function parseHealth(body: unknown): Health {
  if (!isRecord(body) || !isRecord(body.checks)) {
    throw new Error('Unexpected /healthz response');
  }
  const checks: Record<string, HealthCheck> = {};
  for (const [name, raw] of Object.entries(body.checks)) {
    const check: HealthCheck = { status: parseStatus(isRecord(raw) ? raw.status : undefined) };
    if (isRecord(raw) && typeof raw.detail === 'string') check.detail = raw.detail;
    checks[name] = check;
  }
  return { status: parseStatus(body.status), checks };
}

/**
 * GET /healthz. The server answers 503 when a check fails, still with the
 * full body: that is a result to show, not a failed request.
 */
export async function getHealth(): Promise<Health> {
  const { data, error, response } = await client.GET('/healthz');
  if (response.ok) return parseHealth(data);
  if (response.status === 503 && isRecord(error)) return parseHealth(error);
  throw new ApiError(response.status, response.statusText, error);
}

export const healthQueryOptions = () =>
  queryOptions({
    queryKey: ['health'],
    queryFn: getHealth,
    refetchInterval: 15_000,
  });

export const useHealth = () => useQuery(healthQueryOptions());
