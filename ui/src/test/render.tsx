import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, type RenderOptions } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactElement, ReactNode } from 'react';
import { MemoryRouter } from 'react-router';

/** A query client for one test: no retries (a refused call shows at once), nothing shared. */
export function testQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: { queries: { retry: false }, mutations: { retry: false } },
  });
}

export function Providers({ client, children }: { client: QueryClient; children: ReactNode }) {
  return (
    <QueryClientProvider client={client}>
      <MemoryRouter>{children}</MemoryRouter>
    </QueryClientProvider>
  );
}

/** Renders `ui` with a fresh query client and a router, and a user to drive it. */
export function renderWithProviders(ui: ReactElement, options: RenderOptions = {}) {
  const client = testQueryClient();
  const user = userEvent.setup();
  const result = render(ui, {
    ...options,
    wrapper: ({ children }) => <Providers client={client}>{children}</Providers>,
  });
  return { ...result, user, client };
}
