import { Badge, type BadgeTone } from '@/components/ui/badge';
import type { ImageStatus } from '@/lib/api-types';

export const IMAGE_STATUS_TONE: Record<ImageStatus, BadgeTone> = {
  dormant: 'neutral',
  building: 'info',
  built: 'success',
  failed: 'danger',
};

export function ImageStatusBadge({ status, testId }: { status: ImageStatus; testId?: string }) {
  return (
    <Badge tone={IMAGE_STATUS_TONE[status]} testId={testId}>
      {status}
    </Badge>
  );
}

/** Why the files of an image in this status cannot be edited, or null when they can. */
export function filesReadOnlyReason(status: ImageStatus, editable: boolean): string | null {
  if (editable) return null;
  if (status === 'building')
    return 'The image is being built; its files can be changed once the build ends.';
  if (status === 'built')
    return 'The image is built. Destroy the Docker image (the definition stays) to edit its files, then build again.';
  return `Files cannot be changed while the image is ${status}.`;
}
