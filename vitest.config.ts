import { defineConfig } from 'vitest/config';

/**
 * Two projects: `unit` (pure functions and small modules: no ONNX session, no CLI process; the inner loop,
 * `npm run test:unit`, under a minute) and `e2e` (builds models and graphs, runs evaluations and the CLI).
 * `npm test` runs both.
 */
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two cores: ONNX sessions already use both, more workers only thrash.
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
});
