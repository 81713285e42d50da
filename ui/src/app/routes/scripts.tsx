import { Link } from 'react-router';

import { PageHeader } from '@/components/layouts/page-header';
import { ScriptsList } from '@/features/scripts/components/scripts-list';
import { useDocumentTitle } from '@/hooks/use-document-title';

export function ScriptsRoute() {
  useDocumentTitle('Scripts');
  return (
    <>
      <PageHeader
        title="Scripts"
        description="Python code with its settings, run on an image now or on a schedule. Every save is a revision."
        actions={
          <Link className="button button--primary" to="/scripts/new">
            New script
          </Link>
        }
      />
      <ScriptsList />
    </>
  );
}
