import { Link } from 'react-router';

import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Empty } from '@/components/ui/empty';
import { Loading } from '@/components/ui/loading';
import { RelativeTime } from '@/components/ui/time';
import { useImageChoices } from '@/features/images/api/get-image-names';
import { describeError } from '@/lib/problems';

import { useScripts } from '../api/get-scripts';

export function ScriptsList() {
  const query = useScripts();
  const images = useImageChoices();
  if (query.isPending) return <Loading label="Loading scripts…" />;
  if (query.isError) return <Alert>Could not load the scripts: {describeError(query.error)}</Alert>;
  const scripts = query.data.pages.flatMap((page) => page.items);
  const imageNames = new Map((images.data ?? []).map((image) => [image.id, image.name]));
  if (scripts.length === 0) {
    return (
      <Empty testId="scripts-empty">
        No scripts yet. <Link to="/scripts/new">Write the first one</Link>.
      </Empty>
    );
  }
  return (
    <>
      <table className="table table--stack" data-testid="scripts-table">
        <caption className="visually-hidden">Scripts</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Image</th>
            <th scope="col">Entry file</th>
            <th scope="col">Revision</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {scripts.map((script) => (
            <tr key={script.id} data-testid={`script-row-${script.name}`}>
              <td data-label="Name">
                <div>
                  <Link to={`/scripts/${script.id}`} className="strong">
                    {script.name}
                  </Link>
                  {script.description && <div className="muted small">{script.description}</div>}
                </div>
              </td>
              <td data-label="Image">
                <Link to={`/images/${script.image_id}`}>
                  {imageNames.get(script.image_id) ?? `image ${script.image_id}`}
                </Link>
              </td>
              <td data-label="Entry file">
                <code>{script.entry_file}</code>
              </td>
              <td data-label="Revision">{script.current_revision}</td>
              <td data-label="Updated">
                <RelativeTime iso={script.updated_at} />
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
