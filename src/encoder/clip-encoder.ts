import type * as ort from 'onnxruntime-node';
import { preprocess } from '../image/preprocess.js';
import { visionTokens, type ClipConfig } from '../model/clip-config.js';
import type { ModelGraphs } from '../model/graph-cache.js';
import {
  clsRowGraph,
  clsRowPerBoxFeeds,
  clsRowPrefixFeeds,
  clsRowPrefixOutputs,
  isClsRowOnlyBias,
  readClsRowPrefix,
  type ClsRowState,
} from '../model/graphs/cls-row-graph.js';
import { clsProjectionFeeds, clsProjectionGraph } from '../model/graphs/cls-projection-graph.js';
import {
  decompositionFeeds,
  decompositionGraph,
  DECOMPOSITION_OUTPUTS,
  readDecomposition,
} from '../model/graphs/decomposition-graph.js';
import { graphJob, type Feeds, type GraphJob, type GraphMember } from '../model/graphs/graph-family.js';
import { readTextEmbeds, textFeeds, textGraph } from '../model/graphs/text-graph.js';
import {
  promptedTextFeeds,
  promptedTextGraph,
  readPromptedTextEmbeds,
  type PromptedText,
} from '../model/graphs/prompted-text-graph.js';
import { promptedAttention, promptedTokens, type VisionPromptInputs } from '../model/graphs/vision-prompts.js';
import { twoStreamFeeds, twoStreamGraph } from '../model/graphs/two-stream-graph.js';
import {
  CAPTURE_OUTPUTS,
  HIDDEN_OUTPUTS,
  PROBS_OUTPUTS,
  readCapture,
  readHidden,
  readProbs,
  visionFeeds,
  visionGraph,
  type VisionGraphSpec,
  type VisionInputs,
} from '../model/graphs/vision-graph.js';
import { EMBEDS_OUTPUTS, noBias, readEmbeds } from '../model/graphs/vision-io.js';
import { BatchQueue } from './batch-queue.js';
import { DeviceLock } from './device-lock.js';
import type {
  AttentionProbs,
  ClsCapture,
  Encoder,
  EncoderOptions,
  EncoderStats,
  ImageInput,
  ScoreDecomposition,
} from './encoder.js';
import { GraphJobs, unstack } from './graph-jobs.js';
import { createSession, floatTensor, int64Tensor } from './ort-session.js';
import type { Ablation, AttentionBias, EncodeRequest, PromptedTextRequest, TextPromptInputs } from './requests.js';
import { UserError } from '../util/errors.js';
import { unleashResidual } from './unleash.js';

/** Bounded memo of per-image work (prefix hidden states, captures): boxes of one image arrive together. */
const PER_IMAGE_ENTRIES = 256;

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

/** A prompted text in the queue: its ids and context, and its prompt set (the batch key). */
type PromptedTextJob = PromptedText & { prompts: TextPromptInputs };

/**
 * The shared CLIP encoder: every graph of one model on one device (plain, prefix/suffix, CLS-row split,
 * capture, feature mask, two-stream, CLS projection, decomposition, text, prompted text), one session
 * each, one device lock, micro-batched. The unbiased prefix of an unedited image is computed once
 * however many boxes ask for it (per prompt set, for a prompt-tuned CLIP's images); the original
 * image's capture (for unleash) once however many prompts compare with it.
 */
export class ClipEncoder implements Encoder {
  readonly config: ClipConfig;
  private readonly lock = new DeviceLock();
  private readonly sessions = new Map<string, Promise<ort.InferenceSession>>();
  private readonly graphsRun: GraphJobs;
  private readonly textQueue: BatchQueue<readonly number[], Float32Array>;
  private readonly textMember: GraphMember;
  private readonly promptedTextQueue: BatchQueue<PromptedTextJob, Float32Array>;
  private readonly prefixes = new PromiseMemo<Float32Array>();
  private readonly clsRowPrefixes = new PromiseMemo<ClsRowState>();
  private readonly originalCaptures = new PromiseMemo<ClsCapture>();
  private prefixRuns = 0;

  constructor(
    readonly graphs: ModelGraphs,
    readonly options: EncoderOptions,
  ) {
    this.config = graphs.config;
    this.graphsRun = new GraphJobs((graph) => this.session(graph), this.lock, options.batchSize);
    this.textMember = graphs.member(textGraph);
    this.textQueue = new BatchQueue(
      (_key, ids) => this.runText(ids),
      options.batchSize,
      () => 'text',
    );
    this.promptedTextQueue = new BatchQueue(
      (_key, jobs) => this.runPromptedText(jobs),
      options.batchSize,
      (job) => job.prompts.key,
    );
  }

  stats(): EncoderStats {
    return { busyMs: this.lock.busyMs, batches: this.lock.runs, prefixRuns: this.prefixRuns };
  }

  async image(input: ImageInput, request: EncodeRequest): Promise<Float32Array> {
    const { prompts } = request;
    if (request.ablation) {
      if (prompts)
        throw new UserError(
          `the ${request.ablation.kind} ablation does not run on a prompt-tuned CLIP's images (prompts ${prompts.key})`,
        );
      return this.ablated(input, request, request.ablation);
    }
    const pixels = await this.pixelsOf(input, request);
    const v = this.config.vision;
    const T = prompts ? promptedTokens(v, prompts) : visionTokens(v);
    // The methods' biases are T×T over the image's tokens; the prompt tokens get theirs here.
    const attention =
      request.attention && prompts ? promptedAttention(request.attention, visionTokens(v), prompts) : request.attention;
    const prompted = prompts !== undefined;
    const L = v.numLayers;
    const first = attention ? firstGatedLayer(attention.gate, v.numHeads) : -1;
    if (!attention || first < 0)
      return this.visionEmbeds({ from: 0, to: L, bias: false, capture: false, prompted }, { start: pixels, prompts });
    if (this.options.prefixSharing === false || first === 0 || request.edit)
      return this.visionEmbeds(
        { from: 0, to: L, bias: true, biasFrom: first, capture: false, prompted },
        { start: pixels, attention, prompts },
      );
    if (isClsRowOnlyBias(attention.bias, T)) {
      const state = await this.clsRowPrefix(input, pixels, first, prompts);
      return this.embeds(
        this.graphs.member(clsRowGraph, { half: 'per-box', layer: first, prompted }),
        clsRowPerBoxFeeds(v, state, attention, prompts),
      );
    }
    const hidden = await this.prefix(input, pixels, first, prompts);
    return this.visionEmbeds(
      { from: first, to: L, bias: true, capture: false, prompted },
      { start: hidden, attention, prompts },
    );
  }

  /**
   * With a bias only on the CLS query row (FALIP's form a), layer `first`'s patch rows are the same for
   * every box: they run once per image with the unbiased prefix, and only the CLS row per box.
   */
  private clsRowPrefix(
    input: ImageInput,
    pixels: Float32Array,
    first: number,
    prompts: VisionPromptInputs | undefined,
  ): Promise<ClsRowState> {
    return this.clsRowPrefixes.get(memoKey(first, input, prompts), async () => {
      this.prefixRuns++;
      const v = this.config.vision;
      const out = await this.graphsRun.submit(
        graphJob(
          this.graphs.member(clsRowGraph, { half: 'prefix', layer: first, prompted: prompts !== undefined }),
          clsRowPrefixFeeds(v, pixels, prompts),
          clsRowPrefixOutputs(v, first),
        ),
      );
      return readClsRowPrefix(out);
    });
  }

  async capture(input: ImageInput, request: EncodeRequest): Promise<ClsCapture> {
    refusePrompts(request, 'the attention analysis');
    const pixels = await this.pixelsOf(input, request);
    return this.runCapture(pixels, request.attention);
  }

  async attentionProbs(input: ImageInput, request: EncodeRequest): Promise<AttentionProbs> {
    if (request.ablation)
      throw new Error(`attention probabilities: the ${request.ablation.kind} ablation is not one forward pass`);
    const v = this.config.vision;
    const { prompts } = request;
    const pixels = await this.pixelsOf(input, request);
    // No bias is a zero bias: one graph serves plain and masked forwards alike.
    const plane = request.attention ?? noBias(v);
    const attention = prompts ? promptedAttention(plane, visionTokens(v), prompts) : plane;
    const spec: VisionGraphSpec = {
      from: 0,
      to: v.numLayers,
      bias: true,
      capture: false,
      probs: true,
      prompted: prompts !== undefined,
    };
    const out = await this.graphsRun.submit(this.visionJob(spec, { start: pixels, attention, prompts }, PROBS_OUTPUTS));
    return readProbs(out, v, prompts?.tokens ?? 0);
  }

  async decompose(input: ImageInput, request: EncodeRequest, textEmbeds: Float32Array): Promise<ScoreDecomposition> {
    refusePrompts(request, 'the score decomposition');
    const pixels = await this.pixelsOf(input, request);
    const out = await this.graphsRun.submit(
      graphJob(
        this.graphs.member(decompositionGraph),
        decompositionFeeds(this.config.vision, pixels, request.attention, textEmbeds),
        DECOMPOSITION_OUTPUTS,
      ),
    );
    return readDecomposition(out);
  }

  text(ids: readonly number[], prompted?: PromptedTextRequest): Promise<Float32Array> {
    if (prompted) return this.promptedTextQueue.submit({ ids, ctx: prompted.ctx, prompts: prompted.prompts });
    return this.textQueue.submit(ids);
  }

  /** The request's pixels: the edited image, or the input's own (shared) preprocessing. */
  private async pixelsOf(input: ImageInput, request: EncodeRequest): Promise<Float32Array> {
    const size = this.config.vision.imageSize;
    if (!request.edit) return input.pixels(size);
    if (!input.rgb) throw new Error(`${input.key}: a pixel edit (${request.edit.key}) needs a decoded image`);
    return preprocess(await request.edit.apply(input.rgb), size);
  }

  private prefix(
    input: ImageInput,
    pixels: Float32Array,
    upTo: number,
    prompts: VisionPromptInputs | undefined,
  ): Promise<Float32Array> {
    return this.prefixes.get(memoKey(upTo, input, prompts), async () => {
      this.prefixRuns++;
      const out = await this.graphsRun.submit(
        this.visionJob(
          { from: 0, to: upTo, bias: false, capture: false, prompted: prompts !== undefined },
          { start: pixels, prompts },
          HIDDEN_OUTPUTS,
        ),
      );
      return readHidden(out);
    });
  }

  private async ablated(input: ImageInput, request: EncodeRequest, a: Ablation): Promise<Float32Array> {
    const v = this.config.vision;
    const attention = request.attention ?? noBias(v);
    switch (a.kind) {
      case 'token-scale': {
        const pixels = await this.pixelsOf(input, request);
        return this.visionEmbeds(
          { from: 0, to: v.numLayers, bias: true, capture: false, tokenScale: a.site },
          { start: pixels, attention, tokenScale: { scale: a.scale, layers: this.layerGate(a.layers) } },
        );
      }
      case 'two-stream': {
        const [original, edited] = await Promise.all([input.pixels(v.imageSize), this.pixelsOf(input, request)]);
        const [probs, out] = a.probabilitiesFrom === 'edited' ? [edited, original] : [original, edited];
        return this.embeds(
          this.graphs.member(twoStreamGraph),
          twoStreamFeeds(v, { out, probs, attention, swapLayers: this.layerGate(a.layers) }),
        );
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
        return this.embeds(this.graphs.member(clsProjectionGraph), clsProjectionFeeds(v, residual));
      }
    }
  }

  private async runCapture(pixels: Float32Array, attention: AttentionBias | undefined): Promise<ClsCapture> {
    const spec: VisionGraphSpec = { from: 0, to: this.config.vision.numLayers, bias: true, capture: true };
    const out = await this.graphsRun.submit(
      this.visionJob(spec, { start: pixels, attention: attention ?? noBias(this.config.vision) }, CAPTURE_OUTPUTS),
    );
    return readCapture(out);
  }

  /** The image embedding a graph outputs for `feeds`. */
  private embeds(graph: GraphMember, feeds: Feeds): Promise<Float32Array> {
    return this.graphsRun.submit(graphJob(graph, feeds, EMBEDS_OUTPUTS)).then(readEmbeds);
  }

  private visionEmbeds(spec: VisionGraphSpec, inputs: VisionInputs): Promise<Float32Array> {
    return this.graphsRun.submit(this.visionJob(spec, inputs, EMBEDS_OUTPUTS)).then(readEmbeds);
  }

  private visionJob<O extends string>(spec: VisionGraphSpec, inputs: VisionInputs, outputs: readonly O[]): GraphJob<O> {
    return graphJob(this.graphs.member(visionGraph, spec), visionFeeds(this.config.vision, spec, inputs), outputs);
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

  private session(graph: GraphMember): Promise<ort.InferenceSession> {
    let s = this.sessions.get(graph.key);
    if (!s) {
      s = graph.path().then((p) =>
        createSession(p, {
          device: this.options.device,
          deviceId: this.options.deviceId,
          threads: this.options.threads,
        }),
      );
      this.sessions.set(graph.key, s);
    }
    return s;
  }

  private async runText(texts: (readonly number[])[]): Promise<Float32Array[]> {
    const feeds = textFeeds(texts, this.config.text.contextLength);
    const tensors = Object.fromEntries(Object.entries(feeds).map(([name, f]) => [name, int64Tensor(f.data, f.dims)]));
    const session = await this.session(this.textMember);
    const out = await this.lock.run(() => session.run(tensors));
    return unstack(readTextEmbeds(out), texts.length, 'text graph');
  }

  /** One batch of prompted texts; the queue's key gives them one prompt set. */
  private async runPromptedText(jobs: PromptedTextJob[]): Promise<Float32Array[]> {
    const feeds = promptedTextFeeds(this.config.text, jobs, jobs[0]!.prompts);
    const tensors = Object.fromEntries(
      Object.entries(feeds).map(([name, f]) => [
        name,
        f.type === 'int64' ? int64Tensor(f.data, f.dims) : floatTensor(f.data, f.dims),
      ]),
    );
    const session = await this.session(this.graphs.member(promptedTextGraph));
    const out = await this.lock.run(() => session.run(tensors));
    return unstack(readPromptedTextEmbeds(out), jobs.length, 'prompted text graph');
  }
}

/** A per-image memo's key: the layer, the image and the prompt set (whose tokens enter at layer 0). */
function memoKey(layer: number, input: ImageInput, prompts: VisionPromptInputs | undefined): string {
  return prompts ? `${layer}|${input.key}|${prompts.key}` : `${layer}|${input.key}`;
}

function refusePrompts(request: EncodeRequest, what: string): void {
  if (request.prompts)
    throw new UserError(`${what} does not run on a prompt-tuned CLIP (prompts ${request.prompts.key})`);
}
