import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';

import { filesReadOnlyReason, ImageStatusBadge } from '../components/image-status-badge';

describe('image status', () => {
  it('has a tone per status', () => {
    expect(renderToStaticMarkup(<ImageStatusBadge status="building" />)).toContain('badge--info');
    expect(renderToStaticMarkup(<ImageStatusBadge status="failed" />)).toContain('badge--danger');
  });

  it('says why files are read-only', () => {
    expect(filesReadOnlyReason('dormant', true)).toBeNull();
    expect(filesReadOnlyReason('built', false)).toMatch(/Destroy/);
    expect(filesReadOnlyReason('building', false)).toMatch(/being built/);
  });
});
