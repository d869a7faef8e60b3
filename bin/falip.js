#!/usr/bin/env node
// Thin launcher: runs the TypeScript sources through tsx so no build step stands between `npm ci` and use.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
