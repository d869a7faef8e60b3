import type * as ort from 'onnxruntime-node';
import { preprocess } from '../image/preprocess.js';
import { visionTokens, type ClipConfig } from '../model/clip-config.js';
import type { ModelGraphs } from '../model/graph-cache.js';
import { isClsRowOnlyBias, type VisionGraphSpec } from '../model/onnx/vision-graph.js';
import { BatchQueue } from './batch-queue.js';
import { DeviceLock } from './device-lock.js';
import type { ClsCapture, Encoder, EncoderStats, ImageInput } from './encoder.js';
import type { Device } from './execution-provider.js';
import { GraphJobs, unstack, type Feed, type GraphJob, type GraphResult } from './graph-jobs.js';
import { createSession, int64Tensor } from './ort-session.js';
import type { Ablation, AttentionBias, EncodeRequest } from './requests.js';
import { unleashResidual } from './unleash.js';

export interface EncoderOptions {
  device: Device;
  /** Which GPU (ORT's CUDA device id), when there are several. */
  deviceId?: number;
  threads?: number;
  /** Requests per `session.run`. */
  batchSize: number;
  /** Share the unbiased prefix layers across the boxes of an image (exact; off only to measure it). */
  prefixSharing?: boolean;
}

/** Bounded memo of per-image work (prefix hidden states, captures): boxes of one image arrive together. */
const PER_IMAGE_ENTRIES = 256;

const TWO_STREAM = 'vision-two-stream';
const CLS_PROJECTION = 'vision-cls-projection';
const CAPTURE_OUTPUTS = ['image_embeds', 'cls_residual', 'cls_head_out', 'cls_attn'] as const;

/** 0-based index of the first layer whose gate has any nonzero head, or -1. */
function firstGatedLayer(gate: Float32Array, heads: number): number {
  const i = gate.findIndex((g) => g !== 0);
  return i < 0 ? -1 : Math.floor(i / heads);
}

/** A small LRU of promises; a failed promise is forgotten so a retry recomputes it. */
class PromiseMemo<T> {
  private readonly entries = new Map<string, Promise<T>>();

  get(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.entries.get(key);
    if (p) {
      this.entries.delete(key); // re-inserted below: most recently used last
    } else {
      p = make();
      p.catch(() => this.entries.delete(key));
    }
    this.entries.set(key, p);
    if (this.entries.size > PER_IMAGE_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    return p;
  }
}

/**
 * The shared CLIP encoder: every graph of one model on one device (plain, prefix/suffix, capture,
 * feature mask, two-stream, CLS projection, text), one session each, one device lock, micro-batched.
 * The unbiased prefix of an unedited image is computed once however many boxes ask for it; the
 * original image's capture (for unleash) once however many prompts compare with it.
 */
export class ClipEncoder implements Encoder {
  readonly config: ClipConfig;
  private readonly lock = new DeviceLock();
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly graphsRun: GraphJobs;
  private readonly textQueue: BatchQueue<readonly number[], Float32Array>;
  private readonly prefixes = new PromiseMemo<Float32Array>();
  private readonly clsRowPrefixes = new PromiseMemo<Record<string, Feed>>();
  private readonly originalCaptures = new PromiseMemo<ClsCapture>();
  private readonly extraGraphs = new Map<string, () => Promise<string>>();
  private prefixRuns = 0;

  constructor(
    readonly graphs: ModelGraphs,
    readonly options: EncoderOptions,
  ) {
    this.config = graphs.config;
    this.graphsRun = new GraphJobs((name) => this.session(name), this.lock, options.batchSize);
    this.textQueue = new BatchQueue(
      (_key, ids) => this.runText(ids),
      options.batchSize,
      () => 'text',
    );
  }

  stats(): EncoderStats {
    return { busyMs: this.lock.busyMs, batches: this.lock.runs, prefixRuns: this.prefixRuns };
  }

  async image(input: ImageInput, request: EncodeRequest): Promise<Float32Array> {
    if (request.ablation) return this.ablated(input, request, request.ablation);
    const pixels = await this.pixelsOf(input, request);
    const attention = request.attention;
    const L = this.config.vision.numLayers;
    const first = attention ? firstGatedLayer(attention.gate, this.config.vision.numHeads) : -1;
    if (!attention || first < 0)
      return this.embeds(
        this.visionJob({ from: 0, to: L, bias: false, capture: false }, { pixel_values: this.pixelFeed(pixels) }),
      );
    if (this.options.prefixSharing === false || first === 0 || request.edit) {
      return this.embeds(
        this.visionJob(
          { from: 0, to: L, bias: true, biasFrom: first, capture: false },
          { pixel_values: this.pixelFeed(pixels), ...this.biasFeeds(attention) },
          attention,
        ),
      );
    }
    if (isClsRowOnlyBias(attention.bias, visionTokens(this.config.vision))) {
      const pre = await this.clsRowPrefix(input, pixels, first);
      return this.embeds(
        this.visionJob(
          { from: first, to: L, bias: true, capture: false, clsRowSplit: 'per-box' },
          { ...pre, ...this.biasFeeds(attention) },
          attention,
        ),
      );
    }
    const hidden = await this.prefix(input, pixels, first);
    return this.embeds(
      this.visionJob(
        { from: first, to: L, bias: true, capture: false },
        { hidden_in: this.hiddenFeed(hidden), ...this.biasFeeds(attention) },
        attention,
      ),
    );
  }

  /**
   * With a bias only on the CLS query row (FALIP's form a), layer `first`'s patch rows are the same for
   * every box: they run once per image with the unbiased prefix, and only the CLS row per box.
   */
  private clsRowPrefix(input: ImageInput, pixels: Float32Array, first: number): Promise<Record<string, Feed>> {
    return this.clsRowPrefixes.get(`${first}|${input.key}`, async () => {
      this.prefixRuns++;
      const v = this.config.vision;
      const T = visionTokens(v);
      const H = v.numHeads;
      const last = first === v.numLayers - 1;
      const outputs = [...(last ? [] : ['hidden_out']), 'cls_in', 'cls_logits', 'cls_values'];
      const out = await this.graphsRun.submit(
        this.visionJob(
          { from: 0, to: first + 1, bias: false, capture: false, clsRowSplit: 'prefix' },
          { pixel_values: this.pixelFeed(pixels) },
          undefined,
          ...outputs,
        ),
      );
      return {
        ...(!last && { hidden_in: this.hiddenFeed(out.hidden_out!) }),
        cls_in: { data: out.cls_in!, dims: [v.hiddenSize] },
        cls_logits: { data: out.cls_logits!, dims: [H, T] },
        cls_values: { data: out.cls_values!, dims: [H, T, v.hiddenSize / H] },
      };
    });
  }

  async capture(input: ImageInput, request: EncodeRequest): Promise<ClsCapture> {
    const pixels = await this.pixelsOf(input, request);
    return this.runCapture(pixels, request.attention);
  }

  text(ids: readonly number[]): Promise<Float32Array> {
    return this.textQueue.submit(ids);
  }

  /**
   * Runs a graph of the model that the encoder does not know itself (analysis graphs), batched and
   * locked like every other: `path` builds or finds its .onnx file on first use.
   */
  runGraph(job: GraphJob, path: () => Promise<string>): Promise<GraphResult> {
    if (!this.extraGraphs.has(job.graph)) this.extraGraphs.set(job.graph, path);
    return this.graphsRun.submit(job);
  }

  /** The request's pixels: the edited image, or the input's own (shared) preprocessing. */
  private async pixelsOf(input: ImageInput, request: EncodeRequest): Promise<Float32Array> {
    const size = this.config.vision.imageSize;
    if (!request.edit) return input.pixels(size);
    if (!input.rgb) throw new Error(`${input.key}: a pixel edit (${request.edit.key}) needs a decoded image`);
    return preprocess(await request.edit.apply(input.rgb), size);
  }

  private prefix(input: ImageInput, pixels: Float32Array, upTo: number): Promise<Float32Array> {
    return this.prefixes.get(`${upTo}|${input.key}`, async () => {
      this.prefixRuns++;
      const out = await this.graphsRun.submit(
        this.visionJob(
          { from: 0, to: upTo, bias: false, capture: false },
          { pixel_values: this.pixelFeed(pixels) },
          undefined,
          'hidden_out',
        ),
      );
      return out.hidden_out!;
    });
  }

  private async ablated(input: ImageInput, request: EncodeRequest, a: Ablation): Promise<Float32Array> {
    const v = this.config.vision;
    const attention = request.attention ?? this.noAttention();
    switch (a.kind) {
      case 'token-scale': {
        const T = visionTokens(v);
        if (a.scale.length !== T) throw new RangeError(`token scale of length ${a.scale.length}, expected ${T}`);
        const pixels = await this.pixelsOf(input, request);
        const job = this.visionJob(
          { from: 0, to: v.numLayers, bias: true, capture: false, tokenScale: a.site },
          {
            pixel_values: this.pixelFeed(pixels),
            ...this.biasFeeds(attention),
            token_scale: { data: a.scale, dims: [T] },
          },
          attention,
        );
        job.shared!.token_scale_gate = { data: this.layerGate(a.layers), dims: [v.numLayers] };
        return this.embeds(job);
      }
      case 'two-stream': {
        const [original, edited] = await Promise.all([input.pixels(v.imageSize), this.pixelsOf(input, request)]);
        const [probs, out] = a.probabilitiesFrom === 'edited' ? [edited, original] : [original, edited];
        return this.embeds({
          graph: TWO_STREAM,
          items: {
            pixel_values: this.pixelFeed(out),
            pixel_values_probs: this.pixelFeed(probs),
            ...this.biasFeeds(attention),
          },
          shared: {
            bias_gate: this.gateFeed(attention),
            swap_gate: { data: this.layerGate(a.layers), dims: [v.numLayers] },
          },
          outputs: ['image_embeds'],
        });
      }
      case 'unleash': {
        const [original, prompted] = await Promise.all([
          this.originalCaptures.get(input.key, async () => this.runCapture(await input.pixels(v.imageSize), undefined)),
          this.capture(input, request),
        ]);
        const residual = unleashResidual(original, prompted, a.layers, a.headWeight, {
          L: v.numLayers,
          H: v.numHeads,
          D: v.hiddenSize,
        });
        return this.embeds({
          graph: CLS_PROJECTION,
          items: { cls_residual: { data: residual, dims: [v.hiddenSize] } },
          outputs: ['image_embeds'],
        });
      }
    }
  }

  private async runCapture(pixels: Float32Array, attention: AttentionBias | undefined): Promise<ClsCapture> {
    const a = attention ?? this.noAttention();
    const spec: VisionGraphSpec = { from: 0, to: this.config.vision.numLayers, bias: true, capture: true };
    const out = await this.graphsRun.submit(
      this.visionJob(spec, { pixel_values: this.pixelFeed(pixels), ...this.biasFeeds(a) }, a, ...CAPTURE_OUTPUTS),
    );
    return {
      imageEmbeds: out.image_embeds!,
      clsResidual: out.cls_residual!,
      clsHeadOut: out.cls_head_out!,
      clsAttn: out.cls_attn!,
    };
  }

  private async embeds(job: GraphJob): Promise<Float32Array> {
    return (await this.graphsRun.submit(job)).image_embeds!;
  }

  private visionJob(
    spec: VisionGraphSpec,
    items: Record<string, Feed>,
    attention?: AttentionBias,
    ...outputs: string[]
  ): GraphJob {
    return {
      graph: `vision:${JSON.stringify(spec)}`,
      items,
      shared: attention ? { bias_gate: this.gateFeed(attention) } : {},
      outputs: outputs.length > 0 ? outputs : ['image_embeds'],
    };
  }

  private pixelFeed(pixels: Float32Array): Feed {
    const S = this.config.vision.imageSize;
    return { data: pixels, dims: [3, S, S] };
  }

  private hiddenFeed(hidden: Float32Array): Feed {
    const v = this.config.vision;
    return { data: hidden, dims: [visionTokens(v), v.hiddenSize] };
  }

  /** `attn_bias` [1|H,T,T] per request; the head count is part of the batch key through its dims. */
  private biasFeeds(a: AttentionBias): Record<string, Feed> {
    const T = visionTokens(this.config.vision);
    return { attn_bias: { data: a.bias, dims: [a.bias.length / (T * T), T, T] } };
  }

  private gateFeed(a: AttentionBias): Feed {
    const v = this.config.vision;
    return { data: a.gate, dims: [v.numLayers, v.numHeads] };
  }

  /** A zero gate: graphs with bias inputs then run unbiased, so one variant serves both cases. */
  private noAttention(): AttentionBias {
    const v = this.config.vision;
    const T = visionTokens(v);
    return { bias: new Float32Array(T * T), gate: new Float32Array(v.numLayers * v.numHeads) };
  }

  /** A [L] gate that is 1 on the chosen 0-based layers. */
  private layerGate(layers: readonly number[]): Float32Array {
    const L = this.config.vision.numLayers;
    const gate = new Float32Array(L);
    for (const l of layers) {
      if (!Number.isInteger(l) || l < 0 || l >= L) throw new RangeError(`layer ${l} is outside 0..${L - 1}`);
      gate[l] = 1;
    }
    return gate;
  }

  private session(graph: string): Promise<ort.InferenceSession> {
    let s = this.sessions.get(graph);
    if (!s) {
      s = this.graphPath(graph).then((p) =>
        createSession(p, {
          device: this.options.device,
          deviceId: this.options.deviceId,
          threads: this.options.threads,
        }),
      );
      this.sessions.set(graph, s);
    }
    return s;
  }

  private graphPath(graph: string): Promise<string> {
    const extra = this.extraGraphs.get(graph);
    if (extra) return extra();
    if (graph === 'text') return this.graphs.textGraph();
    if (graph === TWO_STREAM) return this.graphs.twoStreamGraph();
    if (graph === CLS_PROJECTION) return this.graphs.clsProjectionGraph();
    return this.graphs.visionGraph(JSON.parse(graph.slice('vision:'.length)) as VisionGraphSpec);
  }

  private async runText(texts: (readonly number[])[]): Promise<Float32Array[]> {
    const ctx = this.config.text.contextLength;
    const len = Math.max(...texts.map((t) => t.length));
    if (len > ctx) throw new Error(`token sequence of ${len} exceeds the context of ${ctx}`);
    // Zero padding after EOT is inert: the causal mask keeps later positions out of the EOT feature.
    const ids = new BigInt64Array(texts.length * len);
    texts.forEach((t, b) => {
      t.forEach((id, i) => {
        ids[b * len + i] = BigInt(id);
      });
    });
    const session = await this.session('text');
    const out = await this.lock.run(() => session.run({ input_ids: int64Tensor(ids, [texts.length, len]) }));
    return unstack(out.text_embeds!.data as Float32Array, texts.length, 'text graph');
  }
}
