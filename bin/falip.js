#!/usr/bin/env node
// Thin launcher: runs the TypeScript sources through tsx so no build step stands between `npm ci` and use.
import { register } from 'tsx/esm/api';

// `falip ... | head` closes stdout early; that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
