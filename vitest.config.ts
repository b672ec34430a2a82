import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel processes, but not more than the machine can carry.
    pool: 'forks',
    maxWorkers: 2,
  },
});
