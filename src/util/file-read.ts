import type { FileHandle } from 'node:fs/promises';

/**
 * Fills `target` from `position` of an open file, looping over short reads. Callers have checked the
 * file's size first, so running out of bytes means the file changed under them.
 */
export async function readInto(fh: FileHandle, position: number, target: Uint8Array): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await fh.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) throw new Error('unexpected end of file after size check');
    done += bytesRead;
  }
}
