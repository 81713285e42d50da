/**
 * Problem bodies (`application/problem+json`: status, title, detail, field) turned
 * into messages in words, placed next to the form field at fault.
 */

export type ProblemItem = { field: string | null; message: string };

export type Problem = {
  status: number | null;
  title: string;
  detail: string;
  field: string | null;
  /** Validation problems list each field; a domain problem has one field or none. */
  errors: ProblemItem[];
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const str = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);

/** The problem in a response body, or null when the body is not one. */
export function parseProblem(body: unknown): Problem | null {
  if (!isRecord(body) || (str(body.detail) === null && str(body.title) === null)) return null;
  const errors: ProblemItem[] = [];
  if (Array.isArray(body.errors)) {
    for (const item of body.errors) {
      if (!isRecord(item)) continue;
      const message = str(item.message);
      if (message) errors.push({ field: normalizeField(str(item.field)), message });
    }
  }
  return {
    status: typeof body.status === 'number' ? body.status : null,
    title: str(body.title) ?? 'Error',
    detail: str(body.detail) ?? str(body.title) ?? 'Error',
    field: normalizeField(str(body.field)),
    errors,
  };
}

/** `data.name`, `$.name` and `name` name the same field; `data` alone is the whole body. */
export function normalizeField(field: string | null): string | null {
  if (!field) return null;
  const bare = field.replace(/^(\$\.?|data\.)/, '');
  return bare === '' || bare === 'data' || bare === '$' ? null : bare;
}

const TYPE_WORDS: Record<string, string> = {
  int: 'a whole number',
  float: 'a number',
  'int | float': 'a number',
  str: 'text',
  bool: 'true or false',
  array: 'a list',
  object: 'an object',
};

function typeInWords(type: string): string {
  const parts = type.split('|').map((part) => part.trim());
  const nullable = parts.includes('null');
  const rest = parts.filter((part) => part !== 'null').join(' | ');
  const words = TYPE_WORDS[rest] ?? rest;
  return nullable ? `${words}, or empty` : words;
}

/**
 * A message in words. The server's domain messages are already sentences; the
 * type errors of request validation (msgspec's "Expected `int`, got `str`") are not.
 */
export function humanizeMessage(message: string): string {
  const expected = /^Expected `([^`]+)`(?:, got `([^`]+)`)?(?: - at `[^`]*`)?$/.exec(message);
  if (expected?.[1]) return `Must be ${typeInWords(expected[1])}.`;
  const bound = /^Expected `([^`]+)` (>=|<=|>|<) (-?[\d.]+)/.exec(message);
  if (bound?.[1] && bound[2] && bound[3]) {
    const words = { '>=': 'at least', '<=': 'at most', '>': 'more than', '<': 'less than' }[
      bound[2]
    ];
    return `Must be ${typeInWords(bound[1])} ${words} ${bound[3]}.`;
  }
  const unknown = /^Object contains unknown field `([^`]+)`/.exec(message);
  if (unknown?.[1]) return `The server does not know the field "${unknown[1]}".`;
  const missing = /^Object missing required field `([^`]+)`/.exec(message);
  if (missing?.[1]) return `"${missing[1]}" is required.`;
  return message;
}

/** "timeout_seconds must be from 1 to 604800" next to the timeout field reads better
 * without the field's code name: "Must be from 1 to 604800". */
function withoutFieldName(message: string, field: string | null): string {
  if (field && message.startsWith(`${field} `)) {
    const rest = message.slice(field.length + 1);
    return rest.charAt(0).toUpperCase() + rest.slice(1);
  }
  return message;
}

/** Does `field` (from the server) belong to `known` (a field of the form)? */
function belongsTo(field: string, known: string): boolean {
  return field === known || field.startsWith(`${known}.`) || field.startsWith(`${known}[`);
}

export type PlacedErrors = {
  /** Messages by form field: shown next to that field. */
  fields: Record<string, string>;
  /** What no field of the form claims: shown at the top of the form, or null. */
  general: string | null;
};

/**
 * Places a problem's messages on the form's fields. `knownFields` are the fields
 * the form shows (`name`, `limits.memory_mb`, `env[0].name`, `cron`); a server
 * field belongs to the most specific known field it is, or is inside of.
 */
export function placeProblem(
  problem: Problem | null,
  knownFields: readonly string[],
): PlacedErrors {
  if (!problem) return { fields: {}, general: null };
  const items: ProblemItem[] = problem.errors.length
    ? problem.errors
    : [{ field: problem.field, message: problem.detail }];
  const fields: Record<string, string> = {};
  const unplaced: string[] = [];
  for (const item of items) {
    const field = item.field;
    const target = field
      ? [...knownFields]
          .sort((a, b) => b.length - a.length)
          .find((known) => belongsTo(field, known))
      : undefined;
    const message = humanizeMessage(withoutFieldName(item.message, field));
    if (target !== undefined) {
      fields[target] = fields[target] ? `${fields[target]} ${message}` : message;
    } else {
      unplaced.push(field ? `${field}: ${message}` : message);
    }
  }
  return { fields, general: unplaced.length ? unplaced.join(' ') : null };
}

/** One sentence for an error that has no field to stand next to. */
export function describeError(error: unknown): string {
  if (isRecord(error) && 'problem' in error) {
    const problem = error.problem as Problem | null;
    if (problem) {
      const placed = placeProblem(problem, []);
      return placed.general ?? problem.detail;
    }
  }
  if (error instanceof TypeError) return 'The server cannot be reached. Is it running?';
  if (error instanceof Error) return error.message;
  return String(error);
}
