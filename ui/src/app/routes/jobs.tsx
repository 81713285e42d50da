import { PageHeader } from '@/components/layouts/page-header';
import { JobHistory } from '@/features/jobs/components/job-history';
import { useScriptNames } from '@/features/scripts/api/get-script-names';
import { useDocumentTitle } from '@/hooks/use-document-title';

export function JobsRoute() {
  useDocumentTitle('Jobs');
  const names = useScriptNames().data ?? new Map<number, string>();
  return (
    <>
      <PageHeader title="Jobs" description="Every run of every script, newest first." />
      <JobHistory scriptNames={names} />
    </>
  );
}
