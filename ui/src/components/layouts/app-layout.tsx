import { Suspense } from 'react';
import { NavLink, Outlet, ScrollRestoration } from 'react-router';

import { Loading } from '@/components/ui/loading';
import { LogOutButton } from '@/features/auth/components/log-out-button';
import { useLiveMode } from '@/features/events/components/live-updates-provider';

const NAV = [
  { to: '/', label: 'Dashboard', end: true },
  { to: '/images', label: 'Images', end: false },
  { to: '/scripts', label: 'Scripts', end: false },
  { to: '/jobs', label: 'Jobs', end: false },
];

function LiveIndicator() {
  const mode = useLiveMode();
  const text = { connecting: 'Connecting…', live: 'Live', polling: 'Polling' }[mode];
  const title = {
    connecting: 'Connecting to the server’s event stream',
    live: 'Statuses update as events arrive',
    polling: 'No event stream: statuses refresh every few seconds',
  }[mode];
  return (
    <span className={`live live--${mode}`} title={title} data-testid="live-mode">
      {text}
    </span>
  );
}

/** The chrome of every screen: skip link, brand, navigation, the page. */
export function AppLayout() {
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar__inner">
          <NavLink to="/" className="brand" aria-label="Scripter, dashboard">
            <svg aria-hidden="true" viewBox="0 0 32 32" width="22" height="22">
              <rect width="32" height="32" rx="7" fill="currentColor" opacity="0.15" />
              <path
                d="M9 11l5 5-5 5M16 22h8"
                fill="none"
                stroke="currentColor"
                strokeWidth="2.6"
                strokeLinecap="round"
                strokeLinejoin="round"
              />
            </svg>
            Scripter
          </NavLink>
          <nav aria-label="Main" className="mainnav">
            {NAV.map((item) => (
              <NavLink
                key={item.to}
                to={item.to}
                end={item.end}
                className={({ isActive }) =>
                  `mainnav__link${isActive ? ' mainnav__link--current' : ''}`
                }
              >
                {item.label}
              </NavLink>
            ))}
            <a className="mainnav__link" href="/schema">
              API docs
            </a>
          </nav>
          <LiveIndicator />
          <LogOutButton />
        </div>
      </header>
      <main id="main" className="page" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
      <ScrollRestoration />
    </div>
  );
}
