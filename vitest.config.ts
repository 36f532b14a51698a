import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Integration tests start real servers; two at a time fits a 2-core machine.
    maxWorkers: 2,
    reporters: ['default'],
    globalSetup: ['test/harness/global-setup.ts'],
  },
});
