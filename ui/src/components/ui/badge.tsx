import type { ReactNode } from 'react';

export type BadgeTone = 'success' | 'danger' | 'neutral';

const glyphs: Record<BadgeTone, string> = {
  success: '●',
  danger: '▲',
  neutral: '○',
};

type BadgeProps = {
  tone: BadgeTone;
  children: ReactNode;
};

/** A coloured pill. The text carries the meaning; colour and glyph only repeat it. */
export function Badge({ tone, children }: BadgeProps) {
  return (
    <span className={`badge badge--${tone}`}>
      <span className="badge__glyph" aria-hidden="true">
        {glyphs[tone]}
      </span>
      {children}
    </span>
  );
}
