import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Two cores: ONNX sessions already use both, more workers only thrash.
    pool: 'forks',
    maxWorkers: 2,
  },
});
