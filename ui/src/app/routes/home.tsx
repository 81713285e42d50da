import { PageLayout } from '@/components/layouts/page-layout';
import { HealthStatus } from '@/features/health/components/health-status';

export function HomeRoute() {
  return (
    <PageLayout>
      <HealthStatus />
    </PageLayout>
  );
}
