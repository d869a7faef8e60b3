import type { Encoder } from '../encoder/encoder.js';
import { TensorImage } from '../encoder/image-input.js';
import { timed } from './timed.js';
import type { BenchRequest } from './workload.js';

/** Submits every request at once, so the micro-batcher fills batches, and awaits them all. */
export function encodeAll(encoder: Encoder, requests: readonly BenchRequest[]): Promise<Float32Array[]> {
  return Promise.all(requests.map((r) => encoder.image(r.input, r.request)));
}

/**
 * The same requests under keys that start with `prefix`: the encoder memoizes per-image prefix layers by
 * key, so a timed pass over keys it has already seen would measure the memo, not the encoder.
 */
export async function rekeyed(
  encoder: Encoder,
  requests: readonly BenchRequest[],
  prefix: string,
): Promise<BenchRequest[]> {
  const size = encoder.config.vision.imageSize;
  return Promise.all(
    requests.map(async (r) => ({
      input: new TensorImage(`${prefix}${r.input.key}`, await r.input.pixels(size), r.input.width, r.input.height),
      request: r.request,
    })),
  );
}

/**
 * Runs one full batch of `requests` untimed: the first call of each graph variant builds its graph and
 * session and sizes ORT's memory arena.
 */
export async function warmUp(encoder: Encoder, requests: readonly BenchRequest[], batchSize: number): Promise<void> {
  await encodeAll(encoder, await rekeyed(encoder, requests.slice(0, batchSize), 'warm-up:'));
}

/** Requests per second of `encodeAll` over `requests`, after a warm-up. */
export async function requestsPerSecond(
  encoder: Encoder,
  requests: readonly BenchRequest[],
  batchSize: number,
): Promise<number> {
  await warmUp(encoder, requests, batchSize);
  const { seconds } = await timed(() => encodeAll(encoder, requests));
  return requests.length / seconds;
}
