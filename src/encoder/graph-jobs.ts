import type * as ort from 'onnxruntime-node';
import type { GraphJob, GraphMember, GraphOutputs } from '../model/graphs/graph-family.js';
import { UserError } from '../util/errors.js';
import { BatchQueue } from './batch-queue.js';
import type { DeviceLock } from './device-lock.js';
import { floatTensor } from './ort-session.js';

type GraphResult = Record<string, Float32Array>;

/** How to open the session of a graph (built on first use). */
export type SessionOf = (graph: GraphMember) => Promise<ort.InferenceSession>;

/** Jobs of one graph, input shapes, shared inputs (gates) and outputs batch together. */
function feedsKey(job: GraphJob): string {
  const items = Object.entries(job.items).map(([name, f]) => `${name}[${f.dims.join(',')}]`);
  const shared = Object.entries(job.shared).map(([name, f]) => `${name}=${Array.from(f.data).join(',')}`);
  return `${job.graph.key}|${items.join(';')}|${shared.join(';')}|${job.outputs.join(',')}`;
}

function stack(parts: readonly Float32Array[]): Float32Array {
  const n = parts[0]!.length;
  const out = new Float32Array(parts.length * n);
  parts.forEach((p, i) => {
    if (p.length !== n) throw new Error(`batch members differ in size (${p.length} vs ${n})`);
    out.set(p, i * n);
  });
  return out;
}

/** Splits a batch output into per-request copies; a NaN means the model (or its input) is broken. */
export function unstack(data: Float32Array, batch: number, what: string): Float32Array[] {
  if (data.some((x) => Number.isNaN(x)))
    throw new UserError(`${what}: the model produced NaN (check the checkpoint's weights)`);
  const n = data.length / batch;
  return Array.from({ length: batch }, (_, i) => data.slice(i * n, (i + 1) * n));
}

/**
 * Every float graph call of the encoder goes through here: requests of the same graph and shared inputs
 * are micro-batched, run one at a time on the device (the lock), and split back per request.
 */
export class GraphJobs {
  private readonly queue: BatchQueue<GraphJob, GraphResult>;

  constructor(
    private readonly sessionOf: SessionOf,
    private readonly lock: DeviceLock,
    batchSize: number,
  ) {
    this.queue = new BatchQueue((_key, jobs) => this.run(jobs), batchSize, feedsKey);
  }

  submit<O extends string>(job: GraphJob<O>): Promise<GraphOutputs<O>> {
    return this.queue.submit(job) as Promise<GraphOutputs<O>>;
  }

  private async run(jobs: GraphJob[]): Promise<GraphResult[]> {
    const first = jobs[0]!;
    const B = jobs.length;
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(first.items))
      feeds[name] = floatTensor(stack(jobs.map((j) => j.items[name]!.data)), [B, ...f.dims]);
    for (const [name, f] of Object.entries(first.shared)) feeds[name] = floatTensor(f.data, [...f.dims]);
    const session = await this.sessionOf(first.graph);
    const out = await this.lock.run(() => session.run(feeds));
    const parts = first.outputs.map((name) =>
      unstack(out[name]!.data as Float32Array, B, `${first.graph.key} ${name}`),
    );
    return jobs.map((_, b) => Object.fromEntries(first.outputs.map((name, i) => [name, parts[i]![b]!])));
  }
}
