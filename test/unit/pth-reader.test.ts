import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  withPth,
  type FloatTensor,
  type IntTensor,
  type StoredTensor,
} from '../../src/model/learned-prompts/pth-file.js';
import { PyObject, type TensorRef, unpickleTorch } from '../../src/model/learned-prompts/torch-unpickler.js';
import { ZipArchive } from '../../src/model/learned-prompts/zip-archive.js';
import { userErrorMessage } from '../helpers/errors.js';
import { expectTensorMatches, pthFixture, REFERENCE, stateTensors } from '../helpers/pth-fixtures.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'falip-pth-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every fixture torch.save wrote whole, with its reference values. */
const READABLE = [
  'coop.pth.tar-10',
  'coop-bare.pth',
  'coop-csc.pth.tar-10',
  'kgcoop.pth.tar-5',
  'ivlp.pth.tar-20',
  'maple.pth.tar-5',
  'maple-deep.pth.tar-5',
  'coop-wide.pth.tar-10',
  'views.pth',
  'small.pth',
];

describe('reading torch.save checkpoints', () => {
  it.each(READABLE)('%s: every tensor equals what torch saved', async (name) => {
    const reference = REFERENCE[name]!;
    await withPth(pthFixture(name), async (pth) => {
      const tensors = stateTensors(pth);
      expect([...tensors.keys()].sort()).toEqual(Object.keys(reference.tensors).sort());
      for (const [key, ref] of tensors)
        expectTensorMatches(await pth.readTensor(ref), reference.tensors[key]!, `${name}:${key}`);
      if (reference.epoch !== undefined) expect((pth.root as Map<string, unknown>).get('epoch')).toBe(reference.epoch);
    });
  });

  it("reads Dassl's optimizer and warmup-scheduler state as inert records", async () => {
    await withPth(pthFixture('coop.pth.tar-10'), async (pth) => {
      const root = pth.root as Map<string, unknown>;
      expect([...root.keys()]).toEqual(['state_dict', 'epoch', 'optimizer', 'scheduler', 'val_result']);
      expect(root.get('val_result')).toBeNull();
      const successor = (root.get('scheduler') as Map<string, unknown>).get('successor') as PyObject;
      expect(successor).toBeInstanceOf(PyObject);
      expect(successor.className).toBe('torch.optim.lr_scheduler.CosineAnnealingLR');
      const optimizer = (successor.state as Map<string, unknown>).get('optimizer') as PyObject;
      expect(optimizer.className).toBe('torch.optim.sgd.SGD');
      // The plain optimizer state dict: SGD's momentum buffer of ctx under parameter index 0.
      const groups = (root.get('optimizer') as Map<string, unknown>).get('param_groups') as Array<Map<string, unknown>>;
      expect(groups[0]!.get('momentum')).toBe(0.9);
      expect(groups[0]!.get('params')).toEqual([0]);
      const momentum = [...pth.tensors].find(([, where]) => where === 'optimizer/state/0/momentum_buffer');
      expect(momentum).toBeDefined();
      const t = await pth.readTensor(momentum![0]);
      expect([t.dtype, t.shape]).toEqual(['float16', [4, 64]]);
    });
  });

  describe('views.pth: views, dtypes and plain values', () => {
    /** base = arange(24)·0.5 − 3 as a 4×6 matrix, the storage the views share. */
    const base = (r: number, c: number): number => (r * 6 + c) * 0.5 - 3;
    const read = async <T>(
      use: (get: (key: string) => Promise<FloatTensor | IntTensor>, refs: Map<string, TensorRef>) => Promise<T>,
    ): Promise<T> =>
      withPth(pthFixture('views.pth'), async (pth) => {
        const refs = stateTensors(pth);
        return use((key) => pth.readTensor(refs.get(key)!), refs);
      });
    const grid = (rows: number[], cols: number[]): number[] => rows.flatMap((r) => cols.map((c) => base(r, c)));

    it('gathers transposed, sliced, strided and expanded views of one storage', async () => {
      await read(async (get, refs) => {
        // One storage entry, four offsets and stride patterns into it.
        expect(
          new Set(['base', 'transposed', 'row2', 'cols', 'strided'].map((k) => refs.get(k)!.storage.key)).size,
        ).toBe(1);
        expect(refs.get('transposed')!.stride).toEqual([1, 6]);
        expect(numbers(await get('transposed'))).toEqual(
          [0, 1, 2, 3, 4, 5].flatMap((c) => [0, 1, 2, 3].map((r) => base(r, c))),
        );
        expect(refs.get('row2')!.offset).toBe(12);
        expect(numbers(await get('row2'))).toEqual(grid([2], [0, 1, 2, 3, 4, 5]));
        expect(numbers(await get('cols'))).toEqual(grid([0, 1, 2, 3], [1, 2, 3]));
        expect(numbers(await get('strided'))).toEqual(grid([0, 2], [0, 3]));
        expect(refs.get('expanded')!.stride).toEqual([0, 1]);
        expect(numbers(await get('expanded'))).toEqual([1.5, -2, 0.25, 1.5, -2, 0.25]);
        const halfT = await get('half_t');
        expect([halfT.dtype, halfT.shape]).toEqual(['float16', [4, 3]]);
        expect(numbers(halfT)).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11].map((i) => i / 8));
      });
    });

    it('decodes float16 and bfloat16 to the values their bits encode', async () => {
      await read(async (get) => {
        const half = await get('half');
        // 65504 is float16's largest finite value, 2^-24 its smallest subnormal; 1/3 → 0x3555, 0.1 → 0x2E66.
        expect(numbers(half)).toEqual([
          1,
          -2,
          0.5,
          65504,
          2 ** -24,
          -0,
          Infinity,
          -Infinity,
          0.333251953125,
          0.0999755859375,
        ]);
        expect(Object.is(half.data[5], -0)).toBe(true);
        const bf16 = await get('bf16');
        expect(bf16.dtype).toBe('bfloat16');
        // Rounded to 8 significant bits: 3.14159 → 0x4049, 1e-3 → 0x3A83, 3e38 → 0x7F62 (rounds up).
        expect(numbers(bf16)).toEqual([1, -2.5, 3.140625, 1.0234375 * 2 ** -10, 1.765625 * 2 ** 127, -0]);
        expect(numbers(await get('f64'))).toEqual([Math.fround(1 / 3), -2.5]);
      });
    });

    it('keeps integer and boolean buffers exact, and reads scalars, empty tensors and Parameters', async () => {
      await read(async (get) => {
        const i64 = (await get('i64')) as IntTensor;
        expect(i64.data).toBeInstanceOf(BigInt64Array);
        expect(Array.from(i64.data as BigInt64Array)).toEqual([-(2n ** 40n), -1n, 0n, 7n, 2n ** 62n]);
        expect(numbers(await get('i32'))).toEqual([-(2 ** 31), 2 ** 31 - 1]);
        expect(numbers(await get('i16'))).toEqual([-32768, 5]);
        expect(numbers(await get('i8'))).toEqual([-128, 127]);
        expect(numbers(await get('u8'))).toEqual([0, 255]);
        expect([(await get('bool')).dtype, numbers(await get('bool'))]).toEqual(['bool', [1, 0, 1]]);
        const scalar = await get('scalar');
        expect([scalar.shape, numbers(scalar)]).toEqual([[], [2.5]]);
        const empty = await get('empty');
        expect([empty.shape, empty.data.length]).toEqual([[0, 3], 0]);
        const param = await get('param');
        expect([param.shape, numbers(param)]).toEqual([
          [1, 2],
          [0.5, -1],
        ]);
      });
    });

    it('reads nested plain values: lists, tuples, big integers, None, booleans, integer keys', async () => {
      await withPth(pthFixture('views.pth'), async (pth) => {
        const nested = (pth.root as Map<unknown, unknown>).get('nested') as Map<unknown, unknown>;
        expect(nested.get('list')).toEqual([1, 2.5, 'x', null, true, [3, -4]]);
        expect(nested.get('big')).toBe(2n ** 70n);
        expect(nested.get('neg_big')).toBe(-(2n ** 63n));
        expect(nested.get(7)).toBe('int key');
      });
    });
  });

  it('reads a ZIP64 archive (sizes and offsets only in ZIP64 records) as the plain one', async () => {
    const file = pthFixture('coop-zip64.pth.tar-10');
    const bytes = readFileSync(file);
    // The fixture really defers to ZIP64: the classic end record holds 0xFFFF counts and 0xFFFFFFFF offsets.
    const end = bytes.subarray(bytes.length - 22);
    expect([end.readUInt32LE(0), end.readUInt16LE(10), end.readUInt32LE(16)]).toEqual([0x06054b50, 0xffff, 0xffffffff]);
    await expectSameTensors(file, pthFixture('coop.pth.tar-10'));
  });

  it('reads the ZIP64 end record torch itself writes on every file', async () => {
    const bytes = readFileSync(pthFixture('ivlp.pth.tar-20'));
    expect(bytes.readUInt32LE(bytes.length - 22 - 20)).toBe(0x07064b50);
    const storages = await withPth(
      pthFixture('ivlp.pth.tar-20'),
      async (pth) => new Set([...pth.tensors.keys()].map((ref) => ref.storage.key)),
    );
    const zip = await ZipArchive.open(pthFixture('ivlp.pth.tar-20'));
    const entries = [...zip.entries.values()];
    await zip.close();
    expect(entries.every((e) => e.method === 0)).toBe(true);
    expect(entries.filter((e) => e.name.startsWith('ivlp.pth/data/')).length).toBe(storages.size);
  });

  it('reads deflated entries (a checkpoint re-zipped by another tool)', async () => {
    const zip = await ZipArchive.open(pthFixture('coop-deflated.pth.tar-10'));
    const methods = new Set([...zip.entries.values()].map((e) => e.method));
    await zip.close();
    expect(methods).toEqual(new Set([8]));
    await expectSameTensors(pthFixture('coop-deflated.pth.tar-10'), pthFixture('coop.pth.tar-10'));
  });
});

/** A tensor's values as numbers (int64 ones converted). */
function numbers(t: StoredTensor): number[] {
  return Array.from(t.data as Iterable<number | bigint>, Number);
}

async function expectSameTensors(file: string, reference: string): Promise<void> {
  const values = async (f: string): Promise<Array<[string, string, number[], number[]]>> =>
    withPth(f, async (pth) => {
      const out: Array<[string, string, number[], number[]]> = [];
      for (const [ref, where] of pth.tensors) {
        const t = await pth.readTensor(ref);
        out.push([where, t.dtype, t.shape, numbers(t)]);
      }
      return out;
    });
  expect(await values(file)).toEqual(await values(reference));
}

describe('refusals', () => {
  const REFUSE_HINT = '(falip reads only tensors, dicts, lists, numbers, strings and optimizer/scheduler state)';

  it.each([
    ['hostile-reduce.pth', `refuses to load global posix.system ${REFUSE_HINT}`],
    ['hostile-stack-global.pth', `refuses to load global os.system ${REFUSE_HINT}`],
    [
      'legacy.pth',
      'a legacy (pre-1.6, non-zip) torch.save file; falip reads the zip format (load and re-save it with torch ≥ 1.6)',
    ],
    ['missing-storage.pth', 'tensor b needs storage 1, but the archive has no entry small/data/1'],
    ['short-storage.pth', 'storage small/data/1 holds 8 bytes, but it is declared as 4 float32 values (16 bytes)'],
    [
      'tensor-past-storage.pth',
      'tensor t [2, 3] (offset 0, strides [3, 1]) reaches element 5 of storage 0, which holds 4',
    ],
    [
      'bzip2.pth',
      'zip entry small/data.pkl is compressed with method 12; falip reads stored and deflated entries only',
    ],
    ['reference.json', 'not a PyTorch checkpoint (neither a torch.save zip nor a legacy pickle)'],
  ])('%s', async (name, why) => {
    const file = pthFixture(name);
    expect(await userErrorMessage(withPth(file, async () => undefined))).toBe(`${file}: ${why}`);
  });

  it('refuses a truncated file', async () => {
    const file = path.join(scratch, 'truncated.pth');
    const whole = readFileSync(pthFixture('coop.pth.tar-10'));
    writeFileSync(file, whole.subarray(0, Math.floor(whole.length / 2)));
    expect(await userErrorMessage(withPth(file, async () => undefined))).toBe(
      `${file}: truncated or not a zip file (no end of central directory record)`,
    );
  });

  it('refuses a storage whose bytes changed (CRC-32), when the tensor is read', async () => {
    const file = path.join(scratch, 'flipped.pth');
    copyFileSync(pthFixture('small.pth'), file);
    const bytes = readFileSync(file);
    const zip = await ZipArchive.open(file);
    const entry = zip.entries.get('small/data/0')!;
    await zip.close();
    const dataStart =
      entry.localHeaderOffset +
      30 +
      bytes.readUInt16LE(entry.localHeaderOffset + 26) +
      bytes.readUInt16LE(entry.localHeaderOffset + 28);
    bytes[dataStart + 1]! ^= 0x40;
    writeFileSync(file, bytes);
    const message = await userErrorMessage(
      withPth(file, async (pth) => {
        for (const ref of pth.tensors.keys()) await pth.readTensor(ref);
      }),
    );
    expect(message).toBe(`${file}: zip entry small/data/0 is corrupt (CRC-32 mismatch)`);
  });

  it('names a missing file', async () => {
    const file = path.join(scratch, 'absent.pth');
    expect(await userErrorMessage(withPth(file, async () => undefined))).toBe(`${file}: not found`);
  });

  it('refuses a data.pkl that ends inside an opcode or uses an opcode torch does not write', async () => {
    // PROTO 2, BINUNICODE with a 16-byte length and only 3 bytes after it.
    expect(
      await userErrorMessage(() =>
        unpickleTorch(Uint8Array.from([0x80, 0x02, 0x58, 16, 0, 0, 0, 0x61, 0x62, 0x63]), 'x.pth'),
      ),
    ).toBe('x.pth: data.pkl byte 2: the pickle ends inside an opcode (truncated data.pkl)');
    // Protocol 0's INT ("I42\n").
    expect(
      await userErrorMessage(() => unpickleTorch(Uint8Array.from([0x80, 0x02, 0x49, 0x34, 0x32, 0x0a, 0x2e]), 'x.pth')),
    ).toBe('x.pth: data.pkl byte 2: pickle opcode 0x49, which torch.save does not write');
  });

  it('refuses an allowlisted class used as something else: a storage type called outside a persistent id', async () => {
    // GLOBAL 'torch FloatStorage' (bytes 2..21), EMPTY_TUPLE (22), REDUCE (23), STOP
    const bytes = Buffer.concat([
      Buffer.from([0x80, 0x02, 0x63]),
      Buffer.from('torch\nFloatStorage\n'),
      Buffer.from([0x29, 0x52, 0x2e]),
    ]);
    expect(await userErrorMessage(() => unpickleTorch(bytes, 'x.pth'))).toBe(
      'x.pth: data.pkl byte 23: REDUCE of storage class torch.FloatStorage outside a persistent id',
    );
  });
});
