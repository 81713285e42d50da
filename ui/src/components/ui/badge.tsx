import type { ReactNode } from 'react';

export type BadgeTone = 'success' | 'danger' | 'neutral' | 'info' | 'warning';

type BadgeProps = {
  tone: BadgeTone;
  children: ReactNode;
  testId?: string;
};

/**
 * A coloured pill. The text carries the meaning; colour and the marker drawn
 * in CSS (a dot, a diamond for danger, a ring for neutral, a pulse for info)
 * only repeat it, so the element's text stays exactly what was passed in.
 */
export function Badge({ tone, children, testId }: BadgeProps) {
  return (
    <span className={`badge badge--${tone}`} data-testid={testId}>
      {children}
    </span>
  );
}
