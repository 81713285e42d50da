import { useState } from 'react';
import { useNavigate } from 'react-router';

import { PageHeader } from '@/components/layouts/page-header';
import { ImageCreateForm } from '@/features/images/components/image-create-form';
import { useDocumentTitle } from '@/hooks/use-document-title';
import { useUnsavedChanges } from '@/hooks/use-unsaved-changes';

export function ImageNewRoute() {
  useDocumentTitle('New image');
  const navigate = useNavigate();
  const [dirty, setDirty] = useState(false);
  const allowNavigation = useUnsavedChanges(dirty);
  return (
    <>
      <PageHeader title="New image" parent={{ to: '/images', label: 'Images' }} />
      <ImageCreateForm
        onDirtyChange={setDirty}
        onCreated={(image) => {
          allowNavigation();
          navigate(`/images/${image.id}`);
        }}
      />
    </>
  );
}
