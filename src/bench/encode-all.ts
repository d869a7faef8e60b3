import type { ClipEncoder, ImageRequest } from '../encoder/clip-encoder.js';
import { timed } from './timed.js';

/** Submits every request at once, so the micro-batcher fills batches, and awaits them all. */
export function encodeAll(encoder: ClipEncoder, requests: ImageRequest[]): Promise<Float32Array[]> {
  return Promise.all(requests.map((r) => encoder.image(r)));
}

/**
 * Runs one full batch of `requests` untimed: the first call of each graph variant builds its graph and
 * session and sizes ORT's memory arena. Pixel keys are renamed so the timed run cannot reuse the
 * prefixes computed here.
 */
export async function warmUp(encoder: ClipEncoder, requests: ImageRequest[]): Promise<void> {
  const batch = requests.slice(0, encoder.options.batchSize);
  await encodeAll(encoder, batch.map((r) => (r.pixelsKey === undefined ? r : { ...r, pixelsKey: `warm-up:${r.pixelsKey}` })));
}

/** Requests per second of `encodeAll` over `requests`, after a warm-up. */
export async function requestsPerSecond(encoder: ClipEncoder, requests: ImageRequest[]): Promise<number> {
  await warmUp(encoder, requests);
  const { seconds } = await timed(() => encodeAll(encoder, requests));
  return requests.length / seconds;
}
