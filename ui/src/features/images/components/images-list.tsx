import { Link } from 'react-router';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Empty } from '@/components/ui/empty';
import { Loading } from '@/components/ui/loading';
import { RelativeTime } from '@/components/ui/time';
import { describeError } from '@/lib/problems';

import { useImages } from '../api/get-images';

import { ImageStatusBadge } from './image-status-badge';

export function ImagesList() {
  const query = useImages();
  if (query.isPending) return <Loading label="Loading images…" />;
  if (query.isError) return <Alert>Could not load the images: {describeError(query.error)}</Alert>;
  const images = query.data.pages.flatMap((page) => page.items);
  if (images.length === 0) {
    return (
      <Empty testId="images-empty">
        No images yet. <Link to="/images/new">Define the first one</Link>: a Dockerfile and the
        packages your scripts need.
      </Empty>
    );
  }
  return (
    <>
      <table className="table table--stack" data-testid="images-table">
        <caption className="visually-hidden">Images</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Tag</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {images.map((image) => (
            <tr key={image.id} data-testid={`image-row-${image.name}`}>
              <td data-label="Name">
                <div>
                  <Link to={`/images/${image.id}`} className="strong">
                    {image.name}
                  </Link>
                  {image.description && <div className="muted small">{image.description}</div>}
                </div>
              </td>
              <td data-label="Status">
                <ImageStatusBadge status={image.status} testId={`image-status-${image.id}`} />
              </td>
              <td data-label="Tag">
                {image.tag ? <code>{image.tag}</code> : <span className="muted">—</span>}
              </td>
              <td data-label="Updated">
                <RelativeTime iso={image.updated_at} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {query.hasNextPage && (
        <Button onClick={() => void query.fetchNextPage()} busy={query.isFetchingNextPage}>
          Load more
        </Button>
      )}
    </>
  );
}
