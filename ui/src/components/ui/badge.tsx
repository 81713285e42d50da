import type { ReactNode } from 'react';

export type BadgeTone = 'success' | 'danger' | 'neutral';

type BadgeProps = {
  tone: BadgeTone;
  children: ReactNode;
};

/**
 * A coloured pill. The text carries the meaning; colour and the marker drawn
 * in CSS (a dot, a diamond for danger, a ring for neutral) only repeat it, so
 * the element's text stays exactly what was passed in.
 */
export function Badge({ tone, children }: BadgeProps) {
  return <span className={`badge badge--${tone}`}>{children}</span>;
}
