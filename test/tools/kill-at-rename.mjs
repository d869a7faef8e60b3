// Preload of the kill -9 matrix (node --import): KILL_AT_RENAME=<part>:<n> makes the process SIGKILL
// itself right after the n-th rename whose destination path contains <part>, so a kill lands exactly
// between two renames, a moment no outside timer can hit. Patches node:fs before falip loads.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const spec = process.env.KILL_AT_RENAME ?? '';
const at = spec.lastIndexOf(':');
const part = spec.slice(0, at);
const nth = Number(spec.slice(at + 1));
let seen = 0;
function renamed(to) {
  if (part && String(to).includes(part) && ++seen === nth) process.kill(process.pid, 'SIGKILL');
}
const { renameSync } = fs;
const { rename } = fs.promises;
fs.renameSync = (from, to) => {
  renameSync(from, to);
  renamed(to);
};
fs.promises.rename = async (from, to) => {
  await rename(from, to);
  renamed(to);
};
syncBuiltinESMExports();
