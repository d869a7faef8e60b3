import type { Encoder } from '../encoder/encoder.js';
import { TensorImage } from '../encoder/image-input.js';
import { timed } from './timed.js';
import type { BenchRequest } from './workload.js';

/** Submits every request at once, so the micro-batcher fills batches, and awaits them all. */
export function encodeAll(encoder: Encoder, requests: readonly BenchRequest[]): Promise<Float32Array[]> {
  return Promise.all(requests.map((r) => encoder.image(r.input, r.request)));
}

/**
 * Runs one full batch of `requests` untimed: the first call of each graph variant builds its graph and
 * session and sizes ORT's memory arena. Inputs are renamed so the timed run cannot reuse the prefixes
 * computed here.
 */
export async function warmUp(encoder: Encoder, requests: readonly BenchRequest[], batchSize: number): Promise<void> {
  const size = encoder.config.vision.imageSize;
  const batch = await Promise.all(
    requests.slice(0, batchSize).map(async (r) => ({ input: new TensorImage(`warm-up:${r.input.key}`, await r.input.pixels(size), r.input.width, r.input.height), request: r.request })),
  );
  await encodeAll(encoder, batch);
}

/** Requests per second of `encodeAll` over `requests`, after a warm-up. */
export async function requestsPerSecond(encoder: Encoder, requests: readonly BenchRequest[], batchSize: number): Promise<number> {
  await warmUp(encoder, requests, batchSize);
  const { seconds } = await timed(() => encodeAll(encoder, requests));
  return requests.length / seconds;
}
