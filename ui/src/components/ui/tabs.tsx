import { Link } from 'react-router';

export type Tab = { id: string; label: string; count?: number };

type TabsProps = {
  tabs: Tab[];
  current: string;
  /** The link of a tab (keeps tabs in the URL: back, reload and links work). */
  hrefOf: (id: string) => string;
  label: string;
};

/** Links styled as tabs; the current one is marked with aria-current. */
export function Tabs({ tabs, current, hrefOf, label }: TabsProps) {
  return (
    <nav className="tabs" aria-label={label}>
      {tabs.map((tab) => (
        <Link
          key={tab.id}
          to={hrefOf(tab.id)}
          className={`tabs__tab${tab.id === current ? ' tabs__tab--current' : ''}`}
          aria-current={tab.id === current ? 'page' : undefined}
          data-testid={`tab-${tab.id}`}
          replace
        >
          {tab.label}
          {tab.count !== undefined && <span className="tabs__count">{tab.count}</span>}
        </Link>
      ))}
    </nav>
  );
}
