import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Encoder } from '../encoder/encoder.js';
import type { OpenedEncoder } from '../encoder/open-encoder.js';
import { runTable } from '../experiments/run-table.js';
import { parseTableConfig } from '../experiments/table-config.js';
import { RecordLog } from '../report/records.js';
import { cosine } from '../util/vector.js';
import { timed } from './timed.js';
import { encodeAll, rekeyed, warmUp } from './encode-all.js';
import type { BenchRequest } from './workload.js';

/** What int8 costs in accuracy and gains in speed against fp32, measured in one run. */
export interface Int8Report {
  /**
   * Images per second over the requests `int8Drift` was given (falip bench: the workload's plain and
   * FALIP requests), each precision at the batch size it runs at (`batch_size`).
   */
  images_per_s: { fp32: number; int8: number };
  /** Requests per model call of each encoder: fp32's device batch size; int8 always 1 (see open-encoder). */
  batch_size: { fp32: number; int8: number };
  /** int8 time over fp32 time, inverted: how many times faster int8 is, each at its `batch_size`. */
  speedup: number;
  /** Cosine of int8 to fp32 image embeddings over the workload's plain and FALIP requests. */
  embedding_cosine: { mean: number; min: number };
  /** REC on the demo set (FALIP and RedCircle, gold boxes): predictions that differ between the precisions. */
  rec_demo: { predictions: number; changed: number; share: number };
}

/** Requests per second of one pass over `requests`, under keys of this round only. */
async function rate(encoder: Encoder, requests: readonly BenchRequest[], round: number): Promise<number> {
  const fresh = await rekeyed(encoder, requests, `round-${round}:`);
  const { seconds } = await timed(() => encodeAll(encoder, fresh));
  return requests.length / seconds;
}

/** The demo REC predictions of each precision, record by record. */
async function demoPredictions(opened: OpenedEncoder, out: string): Promise<Map<string, number>> {
  const cfg = parseTableConfig(
    {
      name: 'int8-drift',
      title: 'int8 drift',
      task: 'rec',
      columns: ['demo/val'],
      rows: [
        { key: 'falip', label: 'FALIP', methods: ['falip'] },
        { key: 'redcircle', label: 'RedCircle', methods: ['redcircle'] },
      ],
    },
    () => 'falip bench',
  );
  await runTable(cfg, {
    encoder: opened.encoder,
    tokenizer: opened.tokenizer,
    model: opened.model,
    sampling: { seed: 0 },
    out,
    progress: () => ({ add() {}, stop() {} }),
  });
  const log = await RecordLog.open(path.join(out, 'records.jsonl'));
  return new Map(log.all().map((r) => [`${r.row}|${r.id}`, r.pred]));
}

export async function int8Drift(
  fp32: OpenedEncoder,
  int8: OpenedEncoder,
  requests: readonly BenchRequest[],
  rounds: number,
): Promise<Int8Report> {
  await Promise.all([warmUp(fp32.encoder, requests, 1), warmUp(int8.encoder, requests, 1)]);
  let f = 0;
  let q = 0;
  for (let r = 0; r < rounds; r++) {
    // Alternating rounds, each precision keeping its best: the machine drifts more than one round lasts.
    f = Math.max(f, await rate(fp32.encoder, requests, r));
    q = Math.max(q, await rate(int8.encoder, requests, r));
  }
  const [a, b] = await Promise.all([encodeAll(fp32.encoder, requests), encodeAll(int8.encoder, requests)]);
  const cos = a.map((x, i) => cosine(x, b[i]!));
  const dir = await mkdtemp(path.join(tmpdir(), 'falip-int8-'));
  try {
    const [pf, pq] = [
      await demoPredictions(fp32, path.join(dir, 'fp32')),
      await demoPredictions(int8, path.join(dir, 'int8')),
    ];
    const changed = [...pf].filter(([k, p]) => pq.get(k) !== p).length;
    return {
      images_per_s: { fp32: f, int8: q },
      batch_size: { fp32: fp32.encoder.options.batchSize, int8: int8.encoder.options.batchSize },
      speedup: q / f,
      embedding_cosine: { mean: cos.reduce((s, c) => s + c, 0) / cos.length, min: Math.min(...cos) },
      rec_demo: { predictions: pf.size, changed, share: changed / pf.size },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
