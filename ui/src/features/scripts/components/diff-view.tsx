import type { FileDiff } from '../utils/diff';

const SIGN = { same: ' ', added: '+', removed: '−' } as const;

/** One file's hunks as a unified diff, with line numbers of both sides. */
export function FileDiffView({ diff }: { diff: FileDiff }) {
  return (
    <section
      className="diff"
      data-testid={`diff-${diff.path}`}
      aria-label={`Changes of ${diff.path}`}
    >
      <header className="diff__header">
        <span className="diff__path">{diff.path}</span>
        <span className={`diff__status diff__status--${diff.status}`}>{diff.status}</span>
        <span className="diff__counts">
          <span className="diff__added">+{diff.added}</span>{' '}
          <span className="diff__removed">−{diff.removed}</span>
        </span>
      </header>
      <div className="diff__body">
        <table className="diff__table">
          <tbody>
            {diff.hunks.map((hunk, index) => (
              <HunkRows key={index} hunk={hunk} first={index === 0} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function HunkRows({ hunk, first }: { hunk: FileDiff['hunks'][number]; first: boolean }) {
  return (
    <>
      {!first && (
        <tr className="diff__gap">
          <td colSpan={4}>⋯</td>
        </tr>
      )}
      {hunk.lines.map((line, index) => (
        <tr key={index} className={`diff__line diff__line--${line.kind}`}>
          <td className="diff__number">{line.oldNumber ?? ''}</td>
          <td className="diff__number">{line.newNumber ?? ''}</td>
          <td className="diff__sign" aria-hidden="true">
            {SIGN[line.kind]}
          </td>
          <td className="diff__text">
            {line.kind !== 'same' && (
              <span className="visually-hidden">
                {line.kind === 'added' ? 'added: ' : 'removed: '}
              </span>
            )}
            {line.text || ' '}
          </td>
        </tr>
      ))}
    </>
  );
}
