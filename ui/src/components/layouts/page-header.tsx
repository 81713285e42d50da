import type { ReactNode } from 'react';
import { Link } from 'react-router';

type PageHeaderProps = {
  title: ReactNode;
  /** Where this page sits: "Images" above "base". */
  parent?: { to: string; label: string };
  meta?: ReactNode;
  actions?: ReactNode;
  description?: ReactNode;
};

export function PageHeader({ title, parent, meta, actions, description }: PageHeaderProps) {
  return (
    <header className="page-header">
      <div className="page-header__text">
        {parent && (
          <nav aria-label="Breadcrumb" className="breadcrumb">
            <Link to={parent.to}>{parent.label}</Link>
            <span aria-hidden="true"> / </span>
          </nav>
        )}
        <div className="page-header__title-row">
          <h1 className="page-header__title">{title}</h1>
          {meta}
        </div>
        {description && <p className="page-header__description">{description}</p>}
      </div>
      {actions && <div className="page-header__actions">{actions}</div>}
    </header>
  );
}
