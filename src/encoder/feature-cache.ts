import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';

/**
 * Optional on-disk cache of image features (`--cache DIR`), so that re-running a table with one row
 * changed costs only that row. A key is the sha256 of everything that decides a feature — the
 * model's weights and graph version, the image bytes, the method with every parameter, the box —
 * so a parameter that changes pixels or masks can never hit a stale entry.
 */
export class FeatureCache {
  hits = 0;
  misses = 0;

  constructor(
    private readonly dir: string,
    /** Weights sha256 + graph builder version: features of another model never match. */
    private readonly modelId: string,
  ) {}

  key(parts: readonly string[]): string {
    const h = createHash('sha256').update(this.modelId);
    for (const p of parts) h.update('\0').update(p);
    return h.digest('hex');
  }

  private file(key: string): string {
    return path.join(this.dir, key.slice(0, 2), `${key}.f32`);
  }

  async get(key: string): Promise<Float32Array | undefined> {
    const f = this.file(key);
    if (!existsSync(f)) {
      this.misses++;
      return undefined;
    }
    const buf = await readFile(f);
    this.hits++;
    return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
  }

  async put(key: string, value: Float32Array): Promise<void> {
    await mkdir(path.dirname(this.file(key)), { recursive: true });
    await writeFileAtomic(this.file(key), new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  }
}
