import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { writeAll, writeAtomically, writeFileAtomic } from '../util/atomic-write.js';
import { sha256OfFile } from '../util/sha256.js';
import { FileStamp, readStampFile, stampMatches } from './file-stamp.js';

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

/** What a cache file's check found: usable, not there yet (build it quietly), or damaged (say so, rebuild). */
export type FileCheck = { state: 'ok' } | { state: 'missing' } | { state: 'corrupt'; file: string; reason: string };

/** The manifest (a FileStamp) beside `file`. */
function manifestPath(file: string): string {
  return `${file}.manifest.json`;
}

/** Checks `file` against its manifest (see the cost note above). */
export async function checkFile(file: string): Promise<FileCheck> {
  if (!existsSync(file)) return { state: 'missing' };
  const corrupt = (reason: string): FileCheck => ({ state: 'corrupt', file, reason });
  const read = await readStampFile(manifestPath(file), FileStamp);
  if (read.state === 'missing') return corrupt('no checksum manifest');
  if (read.state === 'unreadable') return corrupt('unreadable checksum manifest');
  const manifest = read.value;
  const st = await stat(file);
  if (st.size !== manifest.size) return corrupt(`${st.size} bytes, ${manifest.size} written`);
  if (stampMatches(manifest, st) && st.size >= ALWAYS_HASH_BYTES) return { state: 'ok' };
  if ((await sha256OfFile(file)) !== manifest.sha256)
    return corrupt('sha256 differs from the one recorded when it was written');
  if (st.mtimeMs !== manifest.mtimeMs) {
    // Same bytes, new mtime (copied, touched, or written twice by two processes at once): record the
    // new mtime so the next run need not hash again. Best effort: a read-only cache still works.
    await writeFileAtomic(manifestPath(file), JSON.stringify({ ...manifest, mtimeMs: st.mtimeMs })).catch(
      () => undefined,
    );
  }
  return { state: 'ok' };
}

/**
 * Writes `file` once, through one temporary name of this process's own (`tempPathFor`): `write` streams
 * its bytes into `sink`, which hashes them as they are written. The file is fsynced and closed, its
 * manifest recorded, and only then is it renamed into place. The manifest is in place before the file,
 * so another process that sees the file also finds a manifest describing it: two first runs building
 * the same graph at once never take each other's complete file for a damaged one. The rename replaces a
 * damaged file atomically; a process that has it open keeps reading the old inode. On failure the
 * temporary file is removed and `file` is untouched.
 */
export async function writeVerifiedFile(
  file: string,
  write: (sink: (bytes: Uint8Array) => Promise<void>) => Promise<void>,
): Promise<void> {
  const hash = createHash('sha256');
  await writeAtomically(
    file,
    (handle) =>
      write(async (bytes) => {
        hash.update(bytes);
        await writeAll(handle, bytes);
      }),
    async (staging) => {
      const { size, mtimeMs } = await stat(staging);
      await writeFileAtomic(
        manifestPath(file),
        JSON.stringify({ size, mtimeMs, sha256: hash.digest('hex') } satisfies FileStamp),
      );
    },
  );
}
