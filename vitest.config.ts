import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts', 'detectors/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real sockets, real Postfix, real PostgreSQL: files run in forked processes, two at a time
    // on these 2-core machines.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
