import path from 'node:path';
import type { VisionConfig } from '../model/clip-config.js';
import { ModelGraphs } from '../model/graph-cache.js';
import { ensureTinyModel, TINY_MODEL } from '../model/model-registry.js';
import { resolveModel } from '../model/model-store.js';
import { parsePrecision, type Precision } from '../model/onnx/precision.js';
import { ClipTokenizer } from '../model/tokenizer.js';
import { UserError } from '../util/errors.js';
import { ClipEncoder } from './clip-encoder.js';
import { parseDeviceChoice, resolveDevice, type Device } from './execution-provider.js';

export interface EncoderFlags {
  model: string;
  device: string;
  threads?: string;
  batchSize?: string;
  precision?: string;
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
}

/** Requests per model call when `--batch-size` is not given: larger batches pay off only on GPUs. */
export function defaultBatchSize(device: Device): number {
  return device === 'cpu' ? 8 : 64;
}

export function parsePositiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isInteger(n) || n < 1) throw new UserError(`${flag} ${value}: expected a positive integer`);
  return n;
}

/**
 * ORT's CPU provider does run fp16 graphs, but only by inserting casts to float32 around nearly every
 * node and widening the weights at load: as fast as fp32 and less accurate, so it is refused.
 */
function checkPrecision(precision: Precision, device: Device): void {
  if (precision === 'fp16' && device === 'cpu') throw new UserError('--precision fp16 is for GPUs (--device cuda or webgpu); the CPU path stays fp32');
}

export interface OpenedEncoder {
  encoder: ClipEncoder;
  tokenizer: ClipTokenizer;
  model: ModelSummary;
}

/** Resolves `--model` (building the tiny model on demand), the device, and opens the shared encoder + tokenizer. */
export async function openEncoder(flags: EncoderFlags): Promise<OpenedEncoder> {
  const device = resolveDevice(parseDeviceChoice(flags.device));
  const precision = parsePrecision(flags.precision ?? 'fp32');
  checkPrecision(precision, device);
  if (flags.model === TINY_MODEL) await ensureTinyModel();
  const resolved = await resolveModel(flags.model);
  const graphs = await ModelGraphs.open(resolved, { precision });
  const tokenizer = await ClipTokenizer.fromFiles(path.join(resolved.sourceDir, 'vocab.json'), path.join(resolved.sourceDir, 'merges.txt'));
  const encoder = new ClipEncoder(graphs, {
    device,
    threads: flags.threads === undefined ? undefined : parsePositiveInt('--threads', flags.threads),
    batchSize: flags.batchSize === undefined ? defaultBatchSize(device) : parsePositiveInt('--batch-size', flags.batchSize),
  });
  const model: ModelSummary = {
    name: graphs.model.name,
    sha256: graphs.sha256,
    configHash: graphs.identity.configHash,
    precision,
    device,
    vision: graphs.config.vision,
  };
  return { encoder, tokenizer, model };
}
