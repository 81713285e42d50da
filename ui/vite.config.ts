import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// The API server `python -m scripter serve` listens here by default.
const apiServer = 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [react()],
  // `@/…` imports, declared once in tsconfig.json's `paths`.
  resolve: { tsconfigPaths: true },
  // The server mounts the built UI at `/`, so root-absolute asset paths are right.
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
  },
  server: {
    proxy: {
      '/api': apiServer,
      '/healthz': apiServer,
      '/schema': apiServer,
      // Swagger UI's files for /schema, copied into the server's dist/ by the build.
      '/vendor': apiServer,
    },
  },
  test: {
    // Node by default; component tests that need a DOM say
    // `// @vitest-environment happy-dom` in their first line.
    environment: 'node',
    include: ['src/**/__tests__/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
    // Component tests type key by key on a machine that may be busy with others.
    testTimeout: 20_000,
  },
});
