import { useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';

import { PageHeader } from '@/components/layouts/page-header';
import { ScriptCreateForm } from '@/features/scripts/components/script-create-form';
import { useDocumentTitle } from '@/hooks/use-document-title';
import { parseId } from '@/hooks/use-tab';
import { useUnsavedChanges } from '@/hooks/use-unsaved-changes';

export function ScriptNewRoute() {
  useDocumentTitle('New script');
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [dirty, setDirty] = useState(false);
  const allowNavigation = useUnsavedChanges(dirty);
  return (
    <>
      <PageHeader title="New script" parent={{ to: '/scripts', label: 'Scripts' }} />
      <ScriptCreateForm
        initialImageId={parseId(params.get('image') ?? undefined) ?? undefined}
        onDirtyChange={setDirty}
        onCreated={(script) => {
          allowNavigation();
          navigate(`/scripts/${script.id}`);
        }}
      />
    </>
  );
}
