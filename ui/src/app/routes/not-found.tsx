import { Link } from 'react-router';

import { PageHeader } from '@/components/layouts/page-header';
import { useDocumentTitle } from '@/hooks/use-document-title';

export function NotFound({ what = 'This page' }: { what?: string }) {
  useDocumentTitle('Not found');
  return (
    <>
      <PageHeader title="Not found" />
      <p data-testid="not-found">
        {what} does not exist. <Link to="/">Back to the dashboard</Link>.
      </p>
    </>
  );
}

export function NotFoundRoute() {
  return <NotFound />;
}
