import type { ImageInput } from '../encoder/encoder.js';
import { TensorImage } from '../encoder/image-input.js';
import type { EncodeRequest } from '../encoder/requests.js';
import { visionPromptInputs, type VisionPromptInputs } from '../model/graphs/vision-prompts.js';
import type { Tensor } from '../model/tensor.js';
import type { BoxXYWH } from '../image/box.js';
import type { VisionConfig } from '../model/clip-config.js';
import type { Method } from '../prompts/method.js';
import { Rng } from '../util/rng.js';

/** The frame the boxes are drawn in: a typical COCO image size. */
export const BENCH_FRAME = { width: 640, height: 480 } as const;

/** Smallest box side, in frame pixels: about one patch, like the smallest detector proposals. */
const MIN_BOX_SIDE = 16;

export interface WorkloadCounts {
  images: number;
  boxes: number;
}

/** One candidate box of one image, with the FALIP request that looks at it. */
export interface BoxItem {
  image: number;
  box: BoxXYWH;
  pixels: Float32Array;
  request: EncodeRequest;
}

/** One encoder call: an image and what to do with it. */
export interface BenchRequest {
  input: ImageInput;
  request: EncodeRequest;
}

/**
 * The bench's inputs: seeded random preprocessed pixel tensors and boxes. No image decoding — the bench
 * measures the encoder — and the same seed gives the same inputs, so runs compare.
 */
export interface BenchWorkload {
  /** Preprocessed [3,S,S] per image. */
  pixels: Float32Array[];
  /** Every (image, box) pair, image-major. */
  items: BoxItem[];
}

function randomBox(rng: Rng): BoxXYWH {
  const { width: W, height: H } = BENCH_FRAME;
  const x = rng.next() * (W - MIN_BOX_SIDE);
  const y = rng.next() * (H - MIN_BOX_SIDE);
  const w = MIN_BOX_SIDE + rng.next() * (W - x - MIN_BOX_SIDE);
  const h = MIN_BOX_SIDE + rng.next() * (H - y - MIN_BOX_SIDE);
  return [x, y, w, h];
}

export function benchWorkload(v: VisionConfig, counts: WorkloadCounts, falip: Method, seed: number): BenchWorkload {
  const rng = new Rng(seed);
  const pixels = Array.from({ length: counts.images }, () => {
    const t = new Float32Array(3 * v.imageSize * v.imageSize);
    // CLIP-normalized pixels have roughly unit spread.
    rng.fillNormal(t, 1);
    return t;
  });
  const items = pixels.flatMap((p, image) =>
    Array.from({ length: counts.boxes }, () => {
      const box = randomBox(rng);
      return { image, box, pixels: p, request: falip.prepare({ ...BENCH_FRAME, box }) };
    }),
  );
  return { pixels, items };
}

/** The image of an item as the encoder takes it; requests with the same key share its prefix layers. */
function inputOf(it: BoxItem, key: string): ImageInput {
  return new TensorImage(key, it.pixels, BENCH_FRAME.width, BENCH_FRAME.height);
}

/** The plain request of each (image, box) pair: its image without a bias. */
export function plainRequests(w: BenchWorkload): BenchRequest[] {
  return w.items.map((it, k) => ({ input: inputOf(it, `plain:${k}`), request: {} }));
}

/**
 * One FALIP request per (image, box) pair. With `shareBy: 'image'` the boxes of an image have one key
 * (the encoder may share its prefix layers); with 'request' every request has its own.
 */
export function falipRequests(
  w: BenchWorkload,
  keyPrefix: string,
  shareBy: 'image' | 'request' = 'image',
): BenchRequest[] {
  return w.items.map((it, k) => ({
    input: inputOf(it, `${keyPrefix}${shareBy === 'image' ? it.image : `${it.image}-${k}`}`),
    request: it.request,
  }));
}

/**
 * A seeded random set of `tokens` vision prompts with a deep prompt before every layer: a prompted
 * graph runs the same operations whatever the values and the depth (every layer has its replacement,
 * gated), so its speed is any set's of that size.
 */
export function syntheticVisionPrompts(v: VisionConfig, tokens: number, seed: number): VisionPromptInputs {
  const rng = new Rng(seed);
  const prompt = (): Tensor => {
    const data = new Float32Array(tokens * v.hiddenSize);
    rng.fillNormal(data, 0.02);
    return { shape: [tokens, v.hiddenSize], data };
  };
  const shallow = prompt();
  const deep = new Map(Array.from({ length: v.numLayers - 1 }, (_, l) => [l + 1, prompt()] as const));
  return visionPromptInputs(v, { nCtx: tokens, shallow, deep }, `bench-${tokens}`, 'zero');
}

/** The plain request of each (image, box) pair on a prompt-tuned CLIP: its image and the prompts. */
export function promptedRequests(w: BenchWorkload, prompts: VisionPromptInputs): BenchRequest[] {
  return w.items.map((it, k) => ({ input: inputOf(it, `prompted:${k}`), request: { prompts } }));
}
