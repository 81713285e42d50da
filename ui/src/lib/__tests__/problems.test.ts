import { describe, expect, it } from 'vitest';

import { ApiError } from '../api-client';
import {
  describeError,
  humanizeMessage,
  normalizeField,
  parseProblem,
  placeProblem,
} from '../problems';

const problem = (body: Record<string, unknown>) => parseProblem(body);

describe('parseProblem', () => {
  it('reads a domain problem with its field', () => {
    expect(
      problem({
        type: 'about:blank',
        title: 'Invalid input',
        status: 422,
        detail: 'name is bad',
        field: 'name',
      }),
    ).toEqual({
      status: 422,
      title: 'Invalid input',
      detail: 'name is bad',
      field: 'name',
      errors: [],
    });
  });

  it('reads the list of a validation problem', () => {
    const parsed = problem({
      title: 'Bad request',
      status: 400,
      detail: 'limits.memory_mb: Expected `int | null`, got `str`',
      field: 'limits.memory_mb',
      errors: [
        { field: 'limits.memory_mb', message: 'Expected `int | null`, got `str`', in: 'body' },
      ],
    });
    expect(parsed?.errors).toEqual([
      { field: 'limits.memory_mb', message: 'Expected `int | null`, got `str`' },
    ]);
  });

  it('is null for what is not a problem', () => {
    expect(parseProblem('Bad Gateway')).toBeNull();
    expect(parseProblem({ items: [] })).toBeNull();
    expect(parseProblem(undefined)).toBeNull();
  });
});

describe('normalizeField', () => {
  it('strips the body prefixes; the body itself is no field', () => {
    expect(normalizeField('data.name')).toBe('name');
    expect(normalizeField('$.limits.cpus')).toBe('limits.cpus');
    expect(normalizeField('data')).toBeNull();
    expect(normalizeField('env[0].name')).toBe('env[0].name');
    expect(normalizeField(null)).toBeNull();
  });
});

describe('humanizeMessage', () => {
  it('puts type errors in words', () => {
    expect(humanizeMessage('Expected `int | null`, got `str`')).toBe(
      'Must be a whole number, or empty.',
    );
    expect(humanizeMessage('Expected `float`, got `str` - at `$.limits.cpus`')).toBe(
      'Must be a number.',
    );
    expect(humanizeMessage('Expected `int` >= 1')).toBe('Must be a whole number at least 1.');
    expect(humanizeMessage('Object contains unknown field `nam`')).toBe(
      'The server does not know the field "nam".',
    );
    expect(humanizeMessage('Object missing required field `name`')).toBe('"name" is required.');
  });

  it('leaves sentences alone', () => {
    expect(humanizeMessage('image 99 does not exist')).toBe('image 99 does not exist');
  });
});

describe('placeProblem', () => {
  const fields = [
    'name',
    'limits.memory_mb',
    'limits',
    'env',
    'env[0].name',
    'timeout_seconds',
    'files',
  ];

  it('puts the message next to the field at fault, without its code name', () => {
    const placed = placeProblem(
      problem({
        status: 422,
        title: 'Invalid input',
        detail: 'timeout_seconds must be from 1 to 604800, or null',
        field: 'timeout_seconds',
      }),
      fields,
    );
    expect(placed).toEqual({
      fields: { timeout_seconds: 'Must be from 1 to 604800, or null' },
      general: null,
    });
  });

  it('prefers the most specific field of the form', () => {
    const placed = placeProblem(
      problem({
        status: 422,
        title: 'x',
        detail: 'limits.memory_mb must be from 6 to 2147483647, or null',
        field: 'limits.memory_mb',
      }),
      fields,
    );
    expect(placed.fields).toEqual({ 'limits.memory_mb': 'Must be from 6 to 2147483647, or null' });
  });

  it('gives a nested field to the form field it is in', () => {
    expect(
      placeProblem(problem({ title: 'x', detail: 'bad', field: 'limits.pids' }), fields).fields,
    ).toEqual({ limits: 'bad' });
    expect(
      placeProblem(problem({ title: 'x', detail: 'bad', field: 'env[0].name' }), fields).fields,
    ).toEqual({ 'env[0].name': 'bad' });
    expect(
      placeProblem(problem({ title: 'x', detail: 'bad', field: 'env[3].value' }), fields).fields,
    ).toEqual({ env: 'bad' });
    expect(
      placeProblem(problem({ title: 'x', detail: 'too big', field: 'files.main.py' }), fields)
        .fields,
    ).toEqual({ files: 'too big' });
  });

  it('does not take a field that only starts with the same letters', () => {
    const placed = placeProblem(problem({ title: 'x', detail: 'bad', field: 'names' }), fields);
    expect(placed).toEqual({ fields: {}, general: 'names: bad' });
  });

  it('says at the top what no field claims', () => {
    expect(
      placeProblem(
        problem({ status: 409, title: 'Conflict', detail: 'image is building' }),
        fields,
      ),
    ).toEqual({
      fields: {},
      general: 'image is building',
    });
  });

  it('places each error of a validation problem', () => {
    const placed = placeProblem(
      problem({
        title: 'Bad request',
        detail: 'two things',
        errors: [
          { field: 'name', message: 'Expected `str`, got `int`' },
          { field: 'other', message: 'Expected `bool`, got `str`' },
        ],
      }),
      fields,
    );
    expect(placed).toEqual({
      fields: { name: 'Must be text.' },
      general: 'other: Must be true or false.',
    });
  });

  it('places nothing without a problem', () => {
    expect(placeProblem(null, fields)).toEqual({ fields: {}, general: null });
  });
});

describe('describeError', () => {
  it('uses the problem, a network failure or the message', () => {
    expect(
      describeError(
        new ApiError(409, 'Conflict', { title: 'Conflict', detail: 'image is used by scripts: a' }),
      ),
    ).toBe('image is used by scripts: a');
    expect(describeError(new TypeError('Failed to fetch'))).toBe(
      'The server cannot be reached. Is it running?',
    );
    expect(describeError(new Error('boom'))).toBe('boom');
  });
});
