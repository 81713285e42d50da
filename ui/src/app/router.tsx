import { useState } from 'react';
import {
  createBrowserRouter,
  RouterProvider,
  useRouteError,
  isRouteErrorResponse,
  Link,
} from 'react-router';

import { AppLayout } from '@/components/layouts/app-layout';
import { Loading } from '@/components/ui/loading';

function RouteError() {
  const error = useRouteError();
  const message = isRouteErrorResponse(error)
    ? `${error.status} ${error.statusText}`
    : error instanceof Error
      ? error.message
      : String(error);
  return (
    <div className="page">
      <h1>Something went wrong</h1>
      <p className="alert" role="alert">
        {message}
      </p>
      <p>
        <Link to="/">Back to the dashboard</Link> or reload the page.
      </p>
    </div>
  );
}

/**
 * One route per screen, each its own chunk (`lazy`): the dashboard does not load
 * the editor, the job page does not load the revision diff.
 */
export function createRouter() {
  return createBrowserRouter([
    {
      path: '/',
      element: <AppLayout />,
      errorElement: <RouteError />,
      hydrateFallbackElement: <Loading />,
      children: [
        {
          index: true,
          lazy: async () => ({ Component: (await import('./routes/dashboard')).DashboardRoute }),
        },
        {
          path: 'images',
          lazy: async () => ({ Component: (await import('./routes/images')).ImagesRoute }),
        },
        {
          path: 'images/new',
          lazy: async () => ({ Component: (await import('./routes/image-new')).ImageNewRoute }),
        },
        {
          path: 'images/:imageId',
          lazy: async () => ({ Component: (await import('./routes/image')).ImageRoute }),
        },
        {
          path: 'scripts',
          lazy: async () => ({ Component: (await import('./routes/scripts')).ScriptsRoute }),
        },
        {
          path: 'scripts/new',
          lazy: async () => ({ Component: (await import('./routes/script-new')).ScriptNewRoute }),
        },
        {
          path: 'scripts/:scriptId',
          lazy: async () => ({ Component: (await import('./routes/script')).ScriptRoute }),
        },
        {
          path: 'jobs',
          lazy: async () => ({ Component: (await import('./routes/jobs')).JobsRoute }),
        },
        {
          path: 'jobs/:jobId',
          lazy: async () => ({ Component: (await import('./routes/job')).JobRoute }),
        },
        {
          path: '*',
          lazy: async () => ({ Component: (await import('./routes/not-found')).NotFoundRoute }),
        },
      ],
    },
  ]);
}

export function AppRouter() {
  const [router] = useState(createRouter);
  return <RouterProvider router={router} />;
}
