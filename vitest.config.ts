import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fixtures hold a Wine prefix whose drive Z: links to /: never search them.
    exclude: ['test/.fixtures/**', '**/node_modules/**'],
    globalSetup: ['test/global-setup.ts'],
    // Tests spawn real builds and executables; each may take seconds.
    testTimeout: 180_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
