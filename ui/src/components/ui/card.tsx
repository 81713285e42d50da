import type { ReactNode } from 'react';

type CardProps = {
  title: string;
  /** Shown at the right of the title, e.g. a summary or an action. */
  aside?: ReactNode;
  children: ReactNode;
  testId?: string;
};

export function Card({ title, aside, children, testId }: CardProps) {
  const headingId = `card-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section className="card" aria-labelledby={headingId} data-testid={testId}>
      <header className="card__header">
        <h2 id={headingId} className="card__title">
          {title}
        </h2>
        {aside}
      </header>
      {children}
    </section>
  );
}
