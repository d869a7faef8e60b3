import { existsSync } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { z } from 'zod';
import { tempPathFor, writeFileAtomic } from '../util/atomic-write.js';
import { sha256OfFile } from '../util/sha256.js';

/**
 * Every file of the graph cache has a manifest beside it (`<file>.manifest.json`) recording its byte
 * size, mtime and sha256 as written.
 *
 * Cost: opening a ViT-B/16's graphs must not re-read 350 MB of weights each run, so a file whose
 * size and mtime are as recorded is trusted without hashing, and one whose mtime differs is re-hashed
 * (then accepted, and the manifest refreshed, if the bytes are the same). Any write to a file moves
 * its mtime, so a flipped or truncated byte is caught; what is not caught is an edit that also
 * restores the old mtime, which is deliberate rather than accidental damage. Files under
 * ALWAYS_HASH_BYTES (the .onnx graphs and index files, tens of KB) are hashed every time: that costs
 * well under a millisecond and closes even that gap for them.
 */
const ALWAYS_HASH_BYTES = 1 << 20;

const Manifest = z.strictObject({
  size: z.number().int().nonnegative(),
  mtimeMs: z.number(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
type Manifest = z.infer<typeof Manifest>;

/** What a cache file's check found: usable, not there yet (build it quietly), or damaged (say so, rebuild). */
export type FileCheck = { state: 'ok' } | { state: 'missing' } | { state: 'corrupt'; file: string; reason: string };

export function manifestPath(file: string): string {
  return `${file}.manifest.json`;
}

async function readManifest(file: string): Promise<Manifest | string> {
  const where = manifestPath(file);
  if (!existsSync(where)) return 'no checksum manifest';
  try {
    const parsed = Manifest.safeParse(JSON.parse(await readFile(where, 'utf8')));
    return parsed.success ? parsed.data : 'unreadable checksum manifest';
  } catch {
    return 'unreadable checksum manifest';
  }
}

/** Checks `file` against its manifest (see the cost note above). */
export async function checkFile(file: string): Promise<FileCheck> {
  if (!existsSync(file)) return { state: 'missing' };
  const corrupt = (reason: string): FileCheck => ({ state: 'corrupt', file, reason });
  const manifest = await readManifest(file);
  if (typeof manifest === 'string') return corrupt(manifest);
  const st = await stat(file);
  if (st.size !== manifest.size) return corrupt(`${st.size} bytes, ${manifest.size} written`);
  if (st.mtimeMs === manifest.mtimeMs && st.size >= ALWAYS_HASH_BYTES) return { state: 'ok' };
  if ((await sha256OfFile(file)) !== manifest.sha256) return corrupt('sha256 differs from the one recorded when it was written');
  if (st.mtimeMs !== manifest.mtimeMs) {
    // Same bytes, new mtime (copied, touched, or written twice by two processes at once): record the
    // new mtime so the next run need not hash again. Best effort: a read-only cache still works.
    await writeFileAtomic(manifestPath(file), JSON.stringify({ ...manifest, mtimeMs: st.mtimeMs })).catch(() => undefined);
  }
  return { state: 'ok' };
}

/**
 * Writes `file` through `write` (which fills a staging path of this process's own), records its
 * manifest, then renames it into place. The manifest is in place before the file, so another process
 * that sees the file also finds a manifest describing it: two first runs building the same graph at
 * once never take each other's complete file for a damaged one. The rename replaces a damaged file
 * atomically; a process that has it open keeps reading the old inode.
 */
export async function writeVerifiedFile(file: string, write: (stagingPath: string) => Promise<void>): Promise<void> {
  const staging = tempPathFor(file);
  try {
    await write(staging);
    const [st, sha256] = await Promise.all([stat(staging), sha256OfFile(staging)]);
    await writeFileAtomic(manifestPath(file), JSON.stringify({ size: st.size, mtimeMs: st.mtimeMs, sha256 } satisfies Manifest));
    await rename(staging, file);
  } finally {
    await rm(staging, { force: true });
  }
}
