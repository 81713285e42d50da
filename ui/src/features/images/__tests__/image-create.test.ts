import { afterEach, describe, expect, it, vi } from 'vitest';

import type { ImageDefaults } from '@/lib/api-types';

import { getImageDefaults } from '../api/get-image-defaults';
import { imageCreateBody, shownText, type ImageDraft } from '../utils/image-create';

afterEach(() => {
  vi.unstubAllGlobals();
});

const defaults: ImageDefaults = {
  base_image: 'registry.example/python:3.11',
  dockerfile: 'FROM registry.example/python:3.11\nRUN python3 -m venv /opt/venv\n',
  requirements: '',
};

const draft = (changes: Partial<ImageDraft> = {}): ImageDraft => ({
  name: '  etl ',
  description: 'nightly',
  requirements: null,
  customDockerfile: false,
  dockerfile: null,
  ...changes,
});

describe('getImageDefaults', () => {
  it('reads the server’s defaults', async () => {
    const fetch = vi.fn(async () => Response.json(defaults));
    vi.stubGlobal('fetch', fetch);
    await expect(getImageDefaults()).resolves.toEqual(defaults);
    const request = (fetch.mock.calls[0] as unknown as [Request])[0];
    expect(new URL(request.url).pathname).toBe('/api/images/defaults');
  });
});

describe('the create form’s texts', () => {
  it('shows the server’s default until the user edits it', () => {
    expect(shownText(null, defaults.dockerfile)).toBe(defaults.dockerfile);
    expect(shownText('FROM mine\n', defaults.dockerfile)).toBe('FROM mine\n');
    // An edit that empties the editor stays empty.
    expect(shownText('', defaults.dockerfile)).toBe('');
    expect(shownText(null, undefined)).toBe('');
  });

  it('sends no Dockerfile when the default is chosen, so the server writes its own', () => {
    const body = imageCreateBody(draft({ dockerfile: 'FROM edited\n' }), defaults);
    expect(body).toEqual({
      name: 'etl',
      description: 'nightly',
      requirements: '',
      dockerfile: null,
    });
  });

  it('sends the Dockerfile shown when the user chose their own', () => {
    const untouched = imageCreateBody(draft({ customDockerfile: true }), defaults);
    expect(untouched.dockerfile).toBe(defaults.dockerfile);
    const edited = imageCreateBody(
      draft({ customDockerfile: true, dockerfile: 'FROM mine\n', requirements: 'six\n' }),
      defaults,
    );
    expect([edited.dockerfile, edited.requirements]).toEqual(['FROM mine\n', 'six\n']);
  });
});
