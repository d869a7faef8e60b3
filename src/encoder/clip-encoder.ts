import type * as ort from 'onnxruntime-node';
import { visionTokens, type ClipConfig } from '../model/clip-config.js';
import type { ModelGraphs } from '../model/graph-cache.js';
import type { VisionGraphSpec } from '../model/onnx/vision-graph.js';
import { BatchQueue } from './batch-queue.js';
import { stack, unstack } from './batch-tensors.js';
import { DeviceLock } from './device-lock.js';
import type { Device } from './execution-provider.js';
import { createSession, floatTensor, int64Tensor } from './ort-session.js';

/** The attention part of a request: `bias` [T,T] (all heads) or [H,T,T], gated per layer×head by `gate` [L,H]. */
export interface AttentionBias {
  bias: Float32Array;
  gate: Float32Array;
}

export interface ImageRequest {
  /** Preprocessed [3,S,S]. */
  pixels: Float32Array;
  attention?: AttentionBias;
  /**
   * Identifies the pixels (e.g. image path + edit). Requests with the same key share the layers
   * before the first biased layer: they are run once per image, not once per box.
   */
  pixelsKey?: string;
}

export interface EncoderOptions {
  device: Device;
  threads?: number;
  /** Requests per `session.run`. */
  batchSize: number;
  /** Share the unbiased prefix layers across the boxes of an image (exact; off only to measure it). */
  prefixSharing?: boolean;
  /** The device's call serializer, shared with other encoders on the same device (e.g. the ablations'). */
  lock?: DeviceLock;
}

interface VisionJob {
  spec: VisionGraphSpec;
  input: Float32Array; // pixels [3,S,S] or hidden [T,D]
  attention?: AttentionBias;
}

/** Bounded memo of prefix hidden states: boxes of one image arrive together, so a short history suffices. */
const PREFIX_CACHE_ENTRIES = 256;

/**
 * The shared CLIP encoder (DESIGN §5): one per model and device, used by every task and method.
 * Requests are micro-batched per graph variant; the unbiased prefix of masked requests is computed
 * once per image.
 */
export class ClipEncoder {
  readonly config: ClipConfig;
  readonly lock: DeviceLock;
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly vision: BatchQueue<VisionJob, Float32Array>;
  private readonly text: BatchQueue<number[], Float32Array>;
  private readonly prefixCache = new Map<string, Promise<Float32Array>>();
  /** Prefix forwards submitted: with sharing, one per image and first masked layer, whatever the boxes or settings. */
  private prefixRuns = 0;

  constructor(
    readonly graphs: ModelGraphs,
    readonly options: EncoderOptions,
  ) {
    this.config = graphs.config;
    this.lock = options.lock ?? new DeviceLock();
    this.vision = new BatchQueue((_key, jobs) => this.runVision(jobs), options.batchSize, (j) => visionJobKey(j));
    this.text = new BatchQueue((_key, ids) => this.runText(ids), options.batchSize, () => 'text');
  }

  /** Busy time of the model calls (ms) and number of batches, for throughput accounting. */
  stats(): { busyMs: number; batches: number; prefixRuns: number } {
    return { busyMs: this.lock.busyMs, batches: this.lock.runs, prefixRuns: this.prefixRuns };
  }

  private session(spec: VisionGraphSpec | 'text'): Promise<ort.InferenceSession> {
    const key = spec === 'text' ? 'text' : JSON.stringify(spec);
    let s = this.sessions.get(key);
    if (!s) {
      const path = spec === 'text' ? this.graphs.textGraph() : this.graphs.visionGraph(spec);
      s = path.then((p) => createSession(p, { device: this.options.device, threads: this.options.threads }));
      this.sessions.set(key, s);
    }
    return s;
  }

  /** image_embeds (not normalized) of one image, with an optional attention bias. */
  async image(req: ImageRequest): Promise<Float32Array> {
    const L = this.config.vision.numLayers;
    if (!req.attention) return this.vision.submit({ spec: { from: 0, to: L, bias: false, capture: false }, input: req.pixels });
    const first = firstGatedLayer(req.attention.gate, this.config.vision.numHeads);
    if (first < 0) return this.vision.submit({ spec: { from: 0, to: L, bias: false, capture: false }, input: req.pixels });
    if (this.options.prefixSharing === false || first === 0) {
      return this.vision.submit({ spec: { from: 0, to: L, bias: true, biasFrom: first, capture: false }, input: req.pixels, attention: req.attention });
    }
    const hidden = await this.prefix(req.pixels, first, req.pixelsKey);
    return this.vision.submit({ spec: { from: first, to: L, bias: true, capture: false }, input: hidden, attention: req.attention });
  }

  private prefix(pixels: Float32Array, upTo: number, pixelsKey: string | undefined): Promise<Float32Array> {
    const job = () => {
      this.prefixRuns++;
      return this.vision.submit({ spec: { from: 0, to: upTo, bias: false, capture: false }, input: pixels });
    };
    if (pixelsKey === undefined) return job();
    const key = `${upTo}|${pixelsKey}`;
    let p = this.prefixCache.get(key);
    if (p) {
      this.prefixCache.delete(key); // re-insert: most recently used last
    } else {
      p = job();
      p.catch(() => this.prefixCache.delete(key));
    }
    this.prefixCache.set(key, p);
    if (this.prefixCache.size > PREFIX_CACHE_ENTRIES) this.prefixCache.delete(this.prefixCache.keys().next().value!);
    return p;
  }

  /** text_embeds (not normalized) of one tokenized text (SOT..EOT ids). */
  textEmbedding(ids: number[]): Promise<Float32Array> {
    return this.text.submit(ids);
  }

  private async runVision(jobs: VisionJob[]): Promise<Float32Array[]> {
    const spec = jobs[0]!.spec;
    const v = this.config.vision;
    const T = visionTokens(v);
    const B = jobs.length;
    const feeds: Record<string, ort.Tensor> = {};
    const inputDims = spec.from === 0 ? [3, v.imageSize, v.imageSize] : [T, v.hiddenSize];
    feeds[spec.from === 0 ? 'pixel_values' : 'hidden_in'] = floatTensor(stack(jobs.map((j) => j.input)), [B, ...inputDims]);
    if (spec.bias) {
      const first = jobs[0]!.attention!;
      const heads = first.bias.length / (T * T);
      if (jobs.some((j) => j.attention!.bias.length !== first.bias.length)) throw new Error('attention biases of one batch differ in head count');
      feeds.attn_bias = floatTensor(stack(jobs.map((j) => j.attention!.bias)), [B, heads, T, T]);
      feeds.bias_gate = floatTensor(first.gate, [v.numLayers, v.numHeads]);
    }
    const session = await this.session(spec);
    const out = await this.lock.run(() => session.run(feeds));
    const name = spec.to < v.numLayers ? 'hidden_out' : 'image_embeds';
    return unstack(out[name]!.data as Float32Array, B, `vision graph ${name}`);
  }

  private async runText(texts: number[][]): Promise<Float32Array[]> {
    const ctx = this.config.text.contextLength;
    const len = Math.max(...texts.map((t) => t.length));
    if (len > ctx) throw new Error(`token sequence of ${len} exceeds the context of ${ctx}`);
    // Zero padding after EOT is inert: the causal mask keeps later positions out of the EOT feature.
    const ids = new BigInt64Array(texts.length * len);
    texts.forEach((t, b) => t.forEach((id, i) => (ids[b * len + i] = BigInt(id))));
    const session = await this.session('text');
    const out = await this.lock.run(() => session.run({ input_ids: int64Tensor(ids, [texts.length, len]) }));
    return unstack(out.text_embeds!.data as Float32Array, texts.length, 'text graph');
  }
}

function visionJobKey(j: VisionJob): string {
  const s = j.spec;
  // The gate is one tensor per batch, so it is part of the batch key; a bias's head count too.
  const gate = j.attention ? `|${Array.from(j.attention.gate).join(',')}|${j.attention.bias.length}` : '';
  return `${s.from}-${s.to}-${s.bias}-${s.biasFrom ?? s.from}-${s.capture}${gate}`;
}

/** 0-based index of the first layer whose gate has any nonzero head, or -1. */
export function firstGatedLayer(gate: Float32Array, heads: number): number {
  const i = gate.findIndex((g) => g !== 0);
  return i < 0 ? -1 : Math.floor(i / heads);
}
