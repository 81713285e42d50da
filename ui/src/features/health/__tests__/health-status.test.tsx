import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import { HealthStatusView } from '../components/health-status';

/** Text of the element with this data-testid, from static markup (enough for flat <li>s). */
function textOf(html: string, testId: string): string | undefined {
  const match = new RegExp(`data-testid="${testId}"[^>]*>(.*?)</li>`).exec(html);
  return match?.[1]?.replace(/<[^>]+>/g, '');
}

describe('HealthStatusView', () => {
  it('renders one item per check with its status as text', () => {
    const html = renderToStaticMarkup(
      <HealthStatusView
        isPending={false}
        error={null}
        health={{
          status: 'error',
          checks: {
            db: { status: 'ok' },
            broker: { status: 'error', detail: 'connection refused' },
            docker: { status: 'ok', detail: 'Docker 20.10' },
          },
        }}
      />,
    );
    expect(textOf(html, 'check-db')).toBe('db: ok');
    expect(textOf(html, 'check-broker')).toBe('broker: errorconnection refused');
    expect(textOf(html, 'check-docker')).toContain('docker: ok');
    expect(html).toContain('Not healthy: broker');
    expect(html).not.toContain('health-error');
  });

  it('shows an alert when the fetch failed and there is nothing to show', () => {
    const html = renderToStaticMarkup(
      <HealthStatusView
        isPending={false}
        error={new Error('HTTP 502 Bad Gateway')}
        health={undefined}
      />,
    );
    expect(html).toContain('role="alert"');
    expect(html).toContain('Could not load system health: HTTP 502 Bad Gateway');
    expect(html).not.toContain('data-testid="check-');
  });

  it('says it is checking while the first fetch is pending', () => {
    const html = renderToStaticMarkup(
      <HealthStatusView isPending={true} error={null} health={undefined} />,
    );
    expect(html).toContain('Checking…');
  });
});
