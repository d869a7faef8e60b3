import type * as ort from 'onnxruntime-node';
import { visionTokens, type ClipConfig } from '../model/clip-config.js';
import type { ModelGraphs } from '../model/graph-cache.js';
import type { TokenScaleSite, VisionGraphSpec } from '../model/onnx/vision-graph.js';
import { BatchQueue } from './batch-queue.js';
import { stack, unstack } from './batch-tensors.js';
import type { AttentionBias, EncoderOptions } from './clip-encoder.js';
import { createSession, floatTensor } from './ort-session.js';
import { DeviceLock } from './device-lock.js';

/** The analysis outputs of one image: what the unleash recomposition and attention plots read. */
export interface ClsCapture {
  /** [P], not normalized. */
  imageEmbeds: Float32Array;
  /** [D] the CLS residual stream after the last layer, before ln_post. */
  clsResidual: Float32Array;
  /** [L*H*D] each head's CLS contribution after its slice of the out-projection (out-proj bias excluded). */
  clsHeadOut: Float32Array;
  /** [L*H*T] the CLS query's attention probabilities. */
  clsAttn: Float32Array;
}

/** Batching only needs device, threads and batch size; prefix sharing does not apply to these graphs. */
export type AblationEncoderOptions = Pick<EncoderOptions, 'device' | 'threads' | 'batchSize' | 'lock'>;

interface CaptureJob {
  pixels: Float32Array;
  attention: AttentionBias;
}

interface FeatureMaskJob extends CaptureJob {
  tokenScale: Float32Array;
  site: TokenScaleSite;
  /** `token_scale_gate` [L]: one tensor per batch. */
  scaleGate: Float32Array;
}

interface TwoStreamJob {
  outPixels: Float32Array;
  probsPixels: Float32Array;
  attention: AttentionBias;
  /** `swap_gate` [L]: one tensor per batch. */
  swapGate: Float32Array;
}

/**
 * The encoder of the ablations (paper Tables 1, 4, 5): the analysis, feature-mask, two-stream and
 * CLS-projection graphs, micro-batched per graph variant like ClipEncoder. Kept apart from
 * ClipEncoder so the hot path of every method carries none of these variants.
 */
export class AblationEncoder {
  readonly config: ClipConfig;
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly captures: BatchQueue<CaptureJob, ClsCapture>;
  private readonly projections: BatchQueue<Float32Array, Float32Array>;
  private readonly featureMasks: BatchQueue<FeatureMaskJob, Float32Array>;
  private readonly twoStreams: BatchQueue<TwoStreamJob, Float32Array>;

  private readonly lock: DeviceLock;

  constructor(
    readonly graphs: ModelGraphs,
    readonly options: AblationEncoderOptions,
  ) {
    this.config = graphs.config;
    this.lock = options.lock ?? new DeviceLock();
    const n = options.batchSize;
    this.captures = new BatchQueue((_k, jobs) => this.runCapture(jobs), n, (j) => attentionKey(j.attention));
    this.projections = new BatchQueue((_k, cls) => this.runProjection(cls), n, () => 'cls');
    this.featureMasks = new BatchQueue((_k, jobs) => this.runFeatureMask(jobs), n, (j) => `${j.site}|${j.scaleGate.join(',')}|${attentionKey(j.attention)}`);
    this.twoStreams = new BatchQueue((_k, jobs) => this.runTwoStream(jobs), n, (j) => `${j.swapGate.join(',')}|${attentionKey(j.attention)}`);
  }

  /** The analysis outputs of one image [3,S,S], with an optional attention bias. */
  capture(pixels: Float32Array, attention?: AttentionBias): Promise<ClsCapture> {
    return this.captures.submit({ pixels, attention: attention ?? this.noAttention() });
  }

  /** ln_post + projection of a (recomposed) CLS residual [D] → image_embeds [P]. */
  projectCls(clsResidual: Float32Array): Promise<Float32Array> {
    return this.projections.submit(clsResidual);
  }

  /**
   * image_embeds with the token features multiplied by `tokenScale` [T] at `site` in `layers` (0-based).
   */
  featureMasked(pixels: Float32Array, tokenScale: Float32Array, layers: number[], site: TokenScaleSite, attention?: AttentionBias): Promise<Float32Array> {
    const T = visionTokens(this.config.vision);
    if (tokenScale.length !== T) throw new RangeError(`featureMasked: token scale of length ${tokenScale.length}, expected ${T}`);
    return this.featureMasks.submit({ pixels, tokenScale, site, scaleGate: this.layerGate(layers), attention: attention ?? this.noAttention() });
  }

  /**
   * The q/k/v-replacement ablation: image_embeds of `outPixels`, whose attention in `swapLayers`
   * (0-based) uses the probabilities computed on `probsPixels` (with `attention` added to that stream's logits).
   */
  twoStream(outPixels: Float32Array, probsPixels: Float32Array, swapLayers: number[], attention?: AttentionBias): Promise<Float32Array> {
    return this.twoStreams.submit({ outPixels, probsPixels, swapGate: this.layerGate(swapLayers), attention: attention ?? this.noAttention() });
  }

  /** A zero gate: the graphs with bias inputs then run unbiased, so one variant serves both cases. */
  private noAttention(): AttentionBias {
    const v = this.config.vision;
    const T = visionTokens(v);
    return { bias: new Float32Array(T * T), gate: new Float32Array(v.numLayers * v.numHeads) };
  }

  /** A [L] gate that is 1 on the chosen 0-based layers. */
  private layerGate(layers: number[]): Float32Array {
    const L = this.config.vision.numLayers;
    const gate = new Float32Array(L);
    for (const l of layers) {
      if (!Number.isInteger(l) || l < 0 || l >= L) throw new RangeError(`layer ${l} is outside 0..${L - 1}`);
      gate[l] = 1;
    }
    return gate;
  }

  private session(name: string, path: () => Promise<string>): Promise<ort.InferenceSession> {
    let s = this.sessions.get(name);
    if (!s) {
      s = path().then((p) => createSession(p, { device: this.options.device, threads: this.options.threads }));
      this.sessions.set(name, s);
    }
    return s;
  }

  private visionSession(spec: VisionGraphSpec): Promise<ort.InferenceSession> {
    return this.session(JSON.stringify(spec), () => this.graphs.visionGraph(spec));
  }

  private pixelTensor(pixels: Float32Array[]): ort.Tensor {
    const S = this.config.vision.imageSize;
    return floatTensor(stack(pixels), [pixels.length, 3, S, S]);
  }

  /** `attn_bias` [B,1|H,T,T] and `bias_gate` [L,H]; the batch key guarantees one gate and head count per batch. */
  private attentionFeeds(attention: AttentionBias[]): Record<string, ort.Tensor> {
    const v = this.config.vision;
    const T = visionTokens(v);
    const heads = attention[0]!.bias.length / (T * T);
    return {
      attn_bias: floatTensor(stack(attention.map((a) => a.bias)), [attention.length, heads, T, T]),
      bias_gate: floatTensor(attention[0]!.gate, [v.numLayers, v.numHeads]),
    };
  }

  private async runCapture(jobs: CaptureJob[]): Promise<ClsCapture[]> {
    const B = jobs.length;
    const session = await this.visionSession({ from: 0, to: this.config.vision.numLayers, bias: true, capture: true });
    const out = await this.lock.run(() => session.run({ pixel_values: this.pixelTensor(jobs.map((j) => j.pixels)), ...this.attentionFeeds(jobs.map((j) => j.attention)) }));
    const part = (name: string) => unstack(out[name]!.data as Float32Array, B, `capture graph ${name}`);
    const imageEmbeds = part('image_embeds');
    const clsResidual = part('cls_residual');
    const clsHeadOut = part('cls_head_out');
    const clsAttn = part('cls_attn');
    return jobs.map((_, b) => ({ imageEmbeds: imageEmbeds[b]!, clsResidual: clsResidual[b]!, clsHeadOut: clsHeadOut[b]!, clsAttn: clsAttn[b]! }));
  }

  private async runProjection(cls: Float32Array[]): Promise<Float32Array[]> {
    const session = await this.session('cls-projection', () => this.graphs.clsProjectionGraph());
    const out = await this.lock.run(() => session.run({ cls_residual: floatTensor(stack(cls), [cls.length, this.config.vision.hiddenSize]) }));
    return unstack(out.image_embeds!.data as Float32Array, cls.length, 'cls projection graph');
  }

  private async runFeatureMask(jobs: FeatureMaskJob[]): Promise<Float32Array[]> {
    const first = jobs[0]!;
    const T = visionTokens(this.config.vision);
    const session = await this.visionSession({ from: 0, to: this.config.vision.numLayers, bias: true, capture: false, tokenScale: first.site });
    const out = await this.lock.run(() => session.run({
      pixel_values: this.pixelTensor(jobs.map((j) => j.pixels)),
      ...this.attentionFeeds(jobs.map((j) => j.attention)),
      token_scale: floatTensor(stack(jobs.map((j) => j.tokenScale)), [jobs.length, T]),
      token_scale_gate: floatTensor(first.scaleGate, [first.scaleGate.length]),
    }));
    return unstack(out.image_embeds!.data as Float32Array, jobs.length, 'feature-mask graph');
  }

  private async runTwoStream(jobs: TwoStreamJob[]): Promise<Float32Array[]> {
    const first = jobs[0]!;
    const session = await this.session('two-stream', () => this.graphs.twoStreamGraph());
    const out = await this.lock.run(() => session.run({
      pixel_values: this.pixelTensor(jobs.map((j) => j.outPixels)),
      pixel_values_probs: this.pixelTensor(jobs.map((j) => j.probsPixels)),
      ...this.attentionFeeds(jobs.map((j) => j.attention)),
      swap_gate: floatTensor(first.swapGate, [first.swapGate.length]),
    }));
    return unstack(out.image_embeds!.data as Float32Array, jobs.length, 'two-stream graph');
  }
}

/** The gate is one tensor per batch, so it is part of the batch key; a bias's head count too. */
function attentionKey(a: AttentionBias): string {
  return `${a.gate.join(',')}|${a.bias.length}`;
}
