import { HomeRoute } from './routes/home';

/**
 * Placeholder: one page for now. When the UI grows screens (scripts, images,
 * jobs, schedules) a router goes here, with one file per route in `routes/`.
 */
export function AppRouter() {
  return <HomeRoute />;
}
