import { QueryClientProvider } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';

import { AuthGate } from '@/features/auth/components/auth-gate';
import { LiveUpdatesProvider } from '@/features/events/components/live-updates-provider';
import { createQueryClient } from '@/lib/react-query';

type AppProviderProps = {
  children: ReactNode;
};

export function AppProvider({ children }: AppProviderProps) {
  const [queryClient] = useState(createQueryClient);
  return (
    <QueryClientProvider client={queryClient}>
      <AuthGate>
        <LiveUpdatesProvider>{children}</LiveUpdatesProvider>
      </AuthGate>
    </QueryClientProvider>
  );
}
