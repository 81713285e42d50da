import { Link } from 'react-router';

import { PageHeader } from '@/components/layouts/page-header';
import { ImagesList } from '@/features/images/components/images-list';
import { useDocumentTitle } from '@/hooks/use-document-title';

export function ImagesRoute() {
  useDocumentTitle('Images');
  return (
    <>
      <PageHeader
        title="Images"
        description="The environments scripts run in: a Dockerfile, requirements.txt and any other files, built into a Docker image."
        actions={
          <Link className="button button--primary" to="/images/new">
            New image
          </Link>
        }
      />
      <ImagesList />
    </>
  );
}
