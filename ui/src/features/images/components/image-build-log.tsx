import { useQueryClient } from '@tanstack/react-query';

import { useLog } from '@/features/logs/api/use-log';
import { LogViewer } from '@/features/logs/components/log-viewer';
import type { Image } from '@/lib/api-types';

import { imageKeys } from '../api/keys';

/** The image's build log, live while it builds. Keyed by build: a new build starts a new log. */
export function ImageBuildLog({ image }: { image: Image }) {
  const queryClient = useQueryClient();
  const log = useLog(
    {
      logUrl: `/api/images/${image.id}/build-log`,
      streamUrl: `/api/images/${image.id}/build-log/stream`,
    },
    image.status === 'building',
    () => void queryClient.invalidateQueries({ queryKey: imageKeys.detail(image.id) }),
  );
  return (
    <LogViewer
      {...log}
      onLoadEarlier={() => void log.loadEarlier()}
      emptyText={
        image.status === 'building'
          ? 'Waiting for the build to start…'
          : 'No build yet. Build the image to see its log here.'
      }
      label="build log"
      testId="build-log"
    />
  );
}
