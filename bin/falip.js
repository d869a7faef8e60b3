#!/usr/bin/env node
// Thin launcher: runs the TypeScript sources through tsx so no build step stands between `npm ci` and use.
import { register } from 'tsx/esm/api';

// `falip ... | head` closes stdout early; that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

// Ctrl-C: what is recorded stays recorded (records are appended as they finish); say how to go on, and
// give the cursor back if a progress bar hid it.
process.once('SIGINT', () => {
  if (process.stderr.isTTY) process.stderr.write('\x1b[?25h\n');
  process.stderr.write('falip: interrupted: re-run the same command to resume\n');
  process.exit(130);
});

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
