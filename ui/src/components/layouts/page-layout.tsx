import type { ReactNode } from 'react';

type PageLayoutProps = {
  children: ReactNode;
};

export function PageLayout({ children }: PageLayoutProps) {
  return (
    <div className="page">
      <header className="page__header">
        <h1 className="page__title">Scripter</h1>
        <p className="page__tagline">Run Python scripts in Docker, now or on a schedule.</p>
        <nav aria-label="Links" className="page__nav">
          <a href="/schema">API docs</a>
        </nav>
      </header>
      <main className="page__main">{children}</main>
    </div>
  );
}
