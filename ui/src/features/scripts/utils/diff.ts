/**
 * Line diffs between two revisions (Myers' O(ND) algorithm), grouped into hunks
 * with a few lines of context, as `diff -u` shows them.
 */

export type DiffLine = {
  kind: 'same' | 'added' | 'removed';
  text: string;
  /** Line numbers (1-based) in the old and the new text; null where the line is absent. */
  oldNumber: number | null;
  newNumber: number | null;
};

export type Hunk = { lines: DiffLine[]; oldStart: number; newStart: number };

export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The shortest edit script from `a` to `b`, as every line of both in order. */
export function diffLines(a: string[], b: string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d]: the furthest x of each diagonal k before step d.
  const trace: Int32Array[] = [];
  outer: for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!)
          ? v[offset + k + 1]!
          : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) break outer;
    }
  }

  const result: DiffLine[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0; d--) {
    const vd = trace[d]!;
    const k = x - y;
    const prevK =
      k === -d || (k !== d && vd[offset + k - 1]! < vd[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = vd[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      result.push({ kind: 'same', text: a[x - 1]!, oldNumber: x, newNumber: y });
      x--;
      y--;
    }
    if (d === 0) break;
    if (x === prevX)
      result.push({ kind: 'added', text: b[prevY]!, oldNumber: null, newNumber: prevY + 1 });
    else result.push({ kind: 'removed', text: a[prevX]!, oldNumber: prevX + 1, newNumber: null });
    x = prevX;
    y = prevY;
  }
  return result.reverse();
}

/** The changed lines with `context` unchanged lines around them; none when equal. */
export function hunks(lines: DiffLine[], context = 3): Hunk[] {
  const include = new Array<boolean>(lines.length).fill(false);
  lines.forEach((line, index) => {
    if (line.kind === 'same') return;
    for (
      let i = Math.max(0, index - context);
      i <= Math.min(lines.length - 1, index + context);
      i++
    )
      include[i] = true;
  });
  const result: Hunk[] = [];
  let current: DiffLine[] = [];
  lines.forEach((line, index) => {
    if (include[index]) current.push(line);
    else if (current.length) {
      result.push(toHunk(current));
      current = [];
    }
  });
  if (current.length) result.push(toHunk(current));
  return result;
}

function toHunk(lines: DiffLine[]): Hunk {
  const first = lines[0]!;
  return {
    lines,
    oldStart: first.oldNumber ?? lines.find((line) => line.oldNumber !== null)?.oldNumber ?? 0,
    newStart: first.newNumber ?? lines.find((line) => line.newNumber !== null)?.newNumber ?? 0,
  };
}

export type FileDiff = {
  path: string;
  status: 'added' | 'removed' | 'changed' | 'unchanged';
  hunks: Hunk[];
  added: number;
  removed: number;
};

/** Every path of either side, with what changed from `before` to `after`. */
export function diffFiles(
  before: Record<string, string>,
  after: Record<string, string>,
  context = 3,
): FileDiff[] {
  const paths = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return paths.map((path) => {
    const old = before[path];
    const next = after[path];
    const lines = diffLines(splitLines(old ?? ''), splitLines(next ?? ''));
    const added = lines.filter((line) => line.kind === 'added').length;
    const removed = lines.filter((line) => line.kind === 'removed').length;
    const status =
      old === undefined
        ? 'added'
        : next === undefined
          ? 'removed'
          : old === next
            ? 'unchanged'
            : 'changed';
    return { path, status, hunks: hunks(lines, context), added, removed };
  });
}
