import { describe, expect, it } from 'vitest';

import { diffFiles, diffLines, hunks, splitLines } from '../utils/diff';

const render = (text: string, other: string) =>
  diffLines(splitLines(text), splitLines(other)).map(
    (line) => `${line.kind === 'same' ? ' ' : line.kind === 'added' ? '+' : '-'}${line.text}`,
  );

describe('diffLines', () => {
  it('finds a changed line and an added one', () => {
    expect(render('a\nb\nc\n', 'a\nB\nc\nd\n')).toEqual([' a', '-b', '+B', ' c', '+d']);
  });

  it('numbers the lines of both sides', () => {
    const lines = diffLines(['a', 'b'], ['b', 'c']);
    expect(lines).toEqual([
      { kind: 'removed', text: 'a', oldNumber: 1, newNumber: null },
      { kind: 'same', text: 'b', oldNumber: 2, newNumber: 1 },
      { kind: 'added', text: 'c', oldNumber: null, newNumber: 2 },
    ]);
  });

  it('handles empty sides', () => {
    expect(render('', 'x\ny\n')).toEqual(['+x', '+y']);
    expect(render('x\n', '')).toEqual(['-x']);
    expect(render('', '')).toEqual([]);
  });

  it('keeps every line of both texts, in order', () => {
    const before = 'import os\nimport sys\n\ndef main():\n    print(1)\n\nmain()\n';
    const after =
      'import sys\n\ndef main():\n    print(2)\n    print(3)\n\nif __name__ == "__main__":\n    main()\n';
    const lines = diffLines(splitLines(before), splitLines(after));
    expect(lines.filter((line) => line.kind !== 'added').map((line) => line.text)).toEqual(
      splitLines(before),
    );
    expect(lines.filter((line) => line.kind !== 'removed').map((line) => line.text)).toEqual(
      splitLines(after),
    );
    // The shortest script: 3 removed (os, print(1), main()), 4 added.
    expect(lines.filter((line) => line.kind === 'removed')).toHaveLength(3);
    expect(lines.filter((line) => line.kind === 'added')).toHaveLength(4);
  });
});

describe('hunks', () => {
  it('keeps context around changes and splits distant ones', () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
    const after = before.slice();
    after[1] = 'changed 2';
    after[17] = 'changed 18';
    const result = hunks(diffLines(before, after), 2);
    expect(result).toHaveLength(2);
    expect(result[0]).toMatchObject({ oldStart: 1, newStart: 1 });
    expect(result[0]!.lines.map((line) => line.text)).toEqual([
      'line 1',
      'line 2',
      'changed 2',
      'line 3',
      'line 4',
    ]);
    expect(result[1]).toMatchObject({ oldStart: 16, newStart: 16 });
  });

  it('has none for equal texts', () => {
    expect(hunks(diffLines(['a', 'b'], ['a', 'b']))).toEqual([]);
  });
});

describe('diffFiles', () => {
  it('says which files were added, removed, changed or left alone', () => {
    const result = diffFiles(
      { 'main.py': 'print(1)\n', 'old.py': 'x\n', 'same.txt': 's\n' },
      { 'main.py': 'print(2)\n', 'new.py': 'y\n', 'same.txt': 's\n' },
    );
    expect(result.map((file) => [file.path, file.status, file.added, file.removed])).toEqual([
      ['main.py', 'changed', 1, 1],
      ['new.py', 'added', 1, 0],
      ['old.py', 'removed', 0, 1],
      ['same.txt', 'unchanged', 0, 0],
    ]);
  });
});
