import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { VisionConfig } from '../model/clip-config.js';
import { ModelGraphs } from '../model/graph-cache.js';
import { ensureBuiltInModel } from '../model/model-registry.js';
import { resolveModel } from '../model/model-store.js';
import type { Precision } from '../model/onnx/precision.js';
import { ClipTokenizer } from '../model/tokenizer.js';
import { UserError } from '../util/errors.js';
import { ClipEncoder } from './clip-encoder.js';
import type { Encoder, EncoderOptions } from './encoder.js';
import { parseDeviceChoice, resolveDevice, type Device } from './execution-provider.js';

/** What opens an encoder: the model, where it runs and how (the CLI's encoder option group gives these). */
export interface OpenEncoderOptions {
  /** A registered model name or a Hugging Face CLIP folder. */
  model: string;
  /** auto, cpu, cuda, cuda:K or webgpu. */
  device: string;
  precision: Precision;
  /** CPU threads for inference (default: every core). */
  threads?: number;
  /** Requests per model call (default: by device; int8 runs at 1). */
  batchSize?: number;
}

/** The model an encoder runs, as results report it and run keys hold it. */
export interface ModelSummary {
  name: string;
  /** sha256 of the weights file. */
  sha256: string;
  /** sha256 of the parsed config: the same weights under another config are another model. */
  configHash: string;
  precision: Precision;
  device: Device;
  vision: VisionConfig;
  /** How falip generated the weights when they are random, else null (see ModelIdentity). */
  randomWeights: string | null;
}

/** Requests per model call when `--batch-size` is not given: larger batches pay off only on GPUs. */
export function defaultBatchSize(device: Device): number {
  return device === 'cpu' ? 8 : 64;
}

/**
 * ORT's CPU provider does run fp16 graphs, but only by inserting casts to float32 around nearly every
 * node and widening the weights at load: as fast as fp32 and less accurate, so it is refused.
 */
function checkPrecision(precision: Precision, device: Device): void {
  if (precision === 'fp16' && device === 'cpu')
    throw new UserError('--precision fp16 is for GPUs (--device cuda or webgpu); the CPU path stays fp32');
  if (precision === 'int8' && device !== 'cpu')
    throw new UserError(`--precision int8 is for the CPU (ORT's integer kernels); on --device ${device} use fp16`);
}

/**
 * int8 quantizes each model call's activations with one scale for the whole batch, so a result would
 * depend on which requests happened to share its batch: int8 runs one request per call.
 */
function batchSizeOf(given: number | undefined, precision: Precision, device: Device): number {
  if (precision === 'int8') {
    if (given !== undefined && given > 1)
      throw new UserError(
        `--batch-size ${given}: int8 quantizes activations per model call, so results would depend on their batch-mates; int8 runs at batch size 1`,
      );
    return 1;
  }
  return given ?? defaultBatchSize(device);
}

/** An encoder with the graphs it runs, from which `createEncoder` makes others. */
export type EncoderWithGraphs = Encoder & { readonly graphs: ModelGraphs };

export interface OpenedEncoder {
  /**
   * The shared encoder, and the graphs it runs: another encoder over them (`createEncoder`) has its own
   * sessions, device lock and memos, and shares no work with this one (the bench's batch-1 and unshared
   * paths, the tests' naive references).
   */
  encoder: EncoderWithGraphs;
  tokenizer: ClipTokenizer;
  model: ModelSummary;
}

/**
 * An encoder of graphs already opened. The one place outside ClipEncoder's own module that makes one:
 * the rest of falip holds the `Encoder` interface.
 */
export function createEncoder(graphs: ModelGraphs, options: EncoderOptions): EncoderWithGraphs {
  return new ClipEncoder(graphs, options);
}

/**
 * Weights files above this size get a line per first-use build: a ViT-B's (600 MB) take a minute, a
 * tiny model's (a few MB) a moment. By size, not by a timer, so what is printed does not depend on how
 * busy the machine is.
 */
const ANNOUNCED_BUILD_BYTES = 64 * 1024 * 1024;

/** First use builds the model's weights files and graphs: a line before and after each, so a minute of it is not silence. */
function announceBuild(what: string): () => void {
  const t0 = performance.now();
  process.stderr.write(`falip: building the ${what} on first use…\n`);
  return () => process.stderr.write(`falip: built the ${what} in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
}

/** Resolves `--model` (registering the built-in tiny and demo models on demand), the device, and opens the shared encoder + tokenizer. */
export async function openEncoder(opts: OpenEncoderOptions): Promise<OpenedEncoder> {
  const { choice, deviceId } = parseDeviceChoice(opts.device);
  const device = resolveDevice(choice);
  const { precision } = opts;
  checkPrecision(precision, device);
  await ensureBuiltInModel(opts.model);
  const resolved = await resolveModel(opts.model);
  const weights = await stat(path.join(resolved.sourceDir, 'model.safetensors')).catch(() => undefined);
  const large = (weights?.size ?? 0) > ANNOUNCED_BUILD_BYTES;
  const graphs = await ModelGraphs.open(resolved, { precision, ...(large && { onBuild: announceBuild }) });
  const tokenizer = await ClipTokenizer.fromFiles(
    path.join(resolved.sourceDir, 'vocab.json'),
    path.join(resolved.sourceDir, 'merges.txt'),
  );
  const encoder = createEncoder(graphs, {
    device,
    threads: opts.threads,
    ...(deviceId !== undefined && { deviceId }),
    batchSize: batchSizeOf(opts.batchSize, precision, device),
  });
  const model: ModelSummary = {
    name: graphs.model.name,
    sha256: graphs.sha256,
    configHash: graphs.identity.configHash,
    precision,
    device,
    vision: graphs.config.vision,
    randomWeights: graphs.identity.randomWeights,
  };
  return { encoder, tokenizer, model };
}
