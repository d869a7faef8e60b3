import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../../src/model/safetensors.js';
import type { WeightMap } from '../../src/model/tensor.js';
import { userErrorMessage } from '../helpers/errors.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'falip-safetensors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A safetensors file built byte by byte: u64 LE header length, header text, data. */
function handBuilt(header: string, data: Uint8Array): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(header)));
  return Buffer.concat([length, Buffer.from(header, 'utf8'), data]);
}

function u16le(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => {
    b.writeUInt16LE(v, i * 2);
  });
  return b;
}

/** Reading `path` fails with a one-line UserError naming it and matching `pattern`. */
async function expectUserError(path: string, pattern: RegExp): Promise<void> {
  expect(await userErrorMessage(readSafetensors(path), path)).toMatch(pattern);
}

describe('writeSafetensors', () => {
  it('writes the known bytes for a hand-built example', async () => {
    const path = join(dir, 'known.safetensors');
    const tensors: WeightMap = new Map([
      ['b', { shape: [], data: Float32Array.of(0.5) }],
      ['a', { shape: [2], data: Float32Array.of(1, -2) }],
    ]);
    await writeSafetensors(path, tensors, { format: 'pt' });
    // 138 header characters, padded with 6 spaces to 144 = 18·8; tensors sorted by name.
    const header =
      '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}      ';
    const expected = Buffer.concat([
      Buffer.from([144, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from(header, 'ascii'),
      Buffer.from([0x00, 0x00, 0x80, 0x3f]), // 1.0f
      Buffer.from([0x00, 0x00, 0x00, 0xc0]), // -2.0f
      Buffer.from([0x00, 0x00, 0x00, 0x3f]), // 0.5f
    ]);
    expect(await readFile(path)).toEqual(expected);
  });

  it('round-trips tensors, including views into larger buffers', async () => {
    const path = join(dir, 'roundtrip.safetensors');
    const backing = Float32Array.from({ length: 30 }, (_, i) => Math.sin(i) * 100);
    const tensors: WeightMap = new Map([
      ['layer.weight', { shape: [3, 4], data: backing.subarray(5, 17) }],
      ['layer.bias', { shape: [3], data: Float32Array.of(-1.5, 0, 3.25) }],
      ['scalar', { shape: [], data: Float32Array.of(Math.log(100)) }],
      ['empty', { shape: [0, 5], data: new Float32Array(0) }],
    ]);
    await writeSafetensors(path, tensors);
    const back = await readSafetensors(path);
    expect([...back.keys()].sort()).toEqual([...tensors.keys()].sort());
    for (const [name, t] of tensors) {
      expect(back.get(name)!.shape).toEqual(t.shape);
      expect(Array.from(back.get(name)!.data)).toEqual(Array.from(t.data));
    }
    const bytes = await readFile(path);
    expect(Number(bytes.readBigUInt64LE(0)) % 8).toBe(0);
  });

  it('writes identical bytes for equal input regardless of insertion order, and leaves no temp file', async () => {
    const x = { shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) };
    const y = { shape: [1], data: Float32Array.of(7) };
    const p1 = join(dir, 'det1.safetensors');
    const p2 = join(dir, 'det2.safetensors');
    await writeSafetensors(
      p1,
      new Map([
        ['x', x],
        ['y', y],
      ]),
      { format: 'pt' },
    );
    await writeSafetensors(
      p2,
      new Map([
        ['y', y],
        ['x', x],
      ]),
      { format: 'pt' },
    );
    expect(await readFile(p1)).toEqual(await readFile(p2));
    await expect(readFile(`${p1}.tmp`)).rejects.toThrow();
  });
});

describe('readSafetensors', () => {
  it('converts F16, BF16 and F64 to float32 and skips integer buffers', async () => {
    const path = join(dir, 'dtypes.safetensors');
    const f16 = u16le([0x3c00, 0xc100, 0x3555, 0x0001]); // 1, -2.5, 0.333251953125, 2^-24 (subnormal)
    const bf16 = u16le([0x3f80, 0xc020, 0x4049]); // 1, -2.5, 3.140625
    const f64 = Buffer.alloc(16);
    f64.writeDoubleLE(0.1, 0);
    f64.writeDoubleLE(-1e6, 8);
    const i64 = Buffer.alloc(24); // e.g. HF's position_ids
    const data = Buffer.concat([f16, bf16, f64, i64]);
    const header = JSON.stringify({
      half: { dtype: 'F16', shape: [2, 2], data_offsets: [0, 8] },
      brain: { dtype: 'BF16', shape: [3], data_offsets: [8, 14] },
      double: { dtype: 'F64', shape: [2], data_offsets: [14, 30] },
      position_ids: { dtype: 'I64', shape: [1, 3], data_offsets: [30, 54] },
    });
    await writeFile(path, handBuilt(header, data));
    const w = await readSafetensors(path);
    expect([...w.keys()].sort()).toEqual(['brain', 'double', 'half']);
    expect(w.get('half')!.shape).toEqual([2, 2]);
    expect(Array.from(w.get('half')!.data)).toEqual([1, -2.5, 0.333251953125, 2 ** -24]);
    expect(Array.from(w.get('brain')!.data)).toEqual([1, -2.5, 3.140625]);
    expect(Array.from(w.get('double')!.data)).toEqual([Math.fround(0.1), -1e6]);
  });

  it('EXPECTED FAILURE: a file shorter than the 8-byte length prefix', async () => {
    const path = join(dir, 'short.safetensors');
    await writeFile(path, Buffer.from([1, 2, 3]));
    await expectUserError(path, /truncated/);
  });

  it('EXPECTED FAILURE: a truncated data section', async () => {
    const path = join(dir, 'cut.safetensors');
    const header = JSON.stringify({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } });
    await writeFile(path, handBuilt(header, new Uint8Array(10)));
    await expectUserError(path, /tensor a: data_offsets \[0, 16\] out of range/);
  });

  it('EXPECTED FAILURE: a header length larger than the file', async () => {
    const path = join(dir, 'long-header.safetensors');
    const bytes = handBuilt('{}', new Uint8Array(0));
    bytes.writeBigUInt64LE(1000n, 0);
    await writeFile(path, bytes);
    await expectUserError(path, /header length 1000 exceeds/);
  });

  it('EXPECTED FAILURE: offsets out of range, or not matching dtype × shape', async () => {
    const outOfRange = join(dir, 'range.safetensors');
    await writeFile(
      outOfRange,
      handBuilt(JSON.stringify({ a: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }), new Uint8Array(8)),
    );
    await expectUserError(outOfRange, /tensor a: data_offsets \[8, 12\] out of range/);
    const mismatch = join(dir, 'mismatch.safetensors');
    await writeFile(
      mismatch,
      handBuilt(JSON.stringify({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }), new Uint8Array(8)),
    );
    await expectUserError(mismatch, /tensor a: .*needs 12/);
  });

  it('EXPECTED FAILURE: a header that is not JSON, and an unsupported float dtype', async () => {
    const badJson = join(dir, 'json.safetensors');
    await writeFile(badJson, handBuilt('{"a": ', new Uint8Array(0)));
    await expectUserError(badJson, /not valid JSON/);
    const fp8 = join(dir, 'fp8.safetensors');
    await writeFile(
      fp8,
      handBuilt(JSON.stringify({ w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }), new Uint8Array(2)),
    );
    await expectUserError(fp8, /tensor w has unsupported dtype F8_E4M3/);
  });
});
