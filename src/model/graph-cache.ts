import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { sha256OfFile } from '../util/sha256.js';
import { loadCheckpoint, readConfig } from './checkpoint.js';
import type { ClipConfig } from './clip-config.js';
import type { ResolvedModel } from './model-store.js';
import type { Precision } from './onnx/precision.js';
import { buildTextGraph } from './onnx/text-graph.js';
import { textWeightEntries, visionWeightEntries } from './onnx/tower-weights.js';
import {
  buildClsProjectionGraph,
  buildTwoStreamGraph,
  buildVisionGraph,
  visionSpecName,
  type VisionGraphSpec,
} from './onnx/vision-graph.js';
import { writeWeightsFile, type WeightsIndex } from './onnx/weights-file.js';

/** Bump when a graph's structure or the weight layout changes: old caches are then rebuilt. */
export const BUILDER_VERSION = 1;

type Tower = 'vision' | 'text';

/** Hashing a 600 MB checkpoint takes a second; remember it while the file's size and mtime stay the same. */
async function checkpointSha256(sourceDir: string, cacheDir: string): Promise<string> {
  const file = path.join(sourceDir, 'model.safetensors');
  if (!existsSync(file)) throw new UserError(`${file}: not found`);
  const st = await stat(file);
  const memo = path.join(cacheDir, 'source-hash.json');
  if (existsSync(memo)) {
    const m = JSON.parse(await readFile(memo, 'utf8')) as { file: string; size: number; mtimeMs: number; sha256: string };
    if (m.file === file && m.size === st.size && m.mtimeMs === st.mtimeMs) return m.sha256;
  }
  const sha256 = await sha256OfFile(file);
  await mkdir(cacheDir, { recursive: true });
  await writeFileAtomic(memo, JSON.stringify({ file, size: st.size, mtimeMs: st.mtimeMs, sha256 }));
  return sha256;
}

export interface GraphOptions {
  /** fp16 graphs and weights get their own files (`vision.fp16.bin`, `text.fp16.onnx`) beside fp32's. */
  precision?: Precision;
}

/**
 * The ONNX graphs of one model in one precision, built on first use and cached under the model's
 * folder, keyed by the checkpoint's sha256 and BUILDER_VERSION. Weights are prepared once per tower
 * into a shared external-data file; every graph variant refers to it.
 */
export class ModelGraphs {
  private weightsPending?: Promise<Awaited<ReturnType<typeof loadCheckpoint>>>;
  private readonly building = new Map<string, Promise<string>>();

  private constructor(
    readonly model: ResolvedModel,
    readonly config: ClipConfig,
    readonly sha256: string,
    readonly dir: string,
    readonly precision: Precision,
  ) {}

  static async open(model: ResolvedModel, opts: GraphOptions = {}): Promise<ModelGraphs> {
    const config = await readConfig(path.join(model.sourceDir, 'config.json'));
    const sha256 = await checkpointSha256(model.sourceDir, model.cacheDir);
    const dir = path.join(model.cacheDir, `graphs-${sha256.slice(0, 16)}-v${BUILDER_VERSION}`);
    return new ModelGraphs(model, config, sha256, dir, opts.precision ?? 'fp32');
  }

  private checkpoint() {
    this.weightsPending ??= loadCheckpoint(this.model.sourceDir);
    return this.weightsPending;
  }

  /** Builds each artefact once, even when several callers ask at the same time. */
  private once(file: string, build: () => Promise<void>): Promise<string> {
    const target = path.join(this.dir, file);
    let p = this.building.get(file);
    if (!p) {
      p = (async () => {
        if (!existsSync(target)) {
          await mkdir(this.dir, { recursive: true });
          await build();
        }
        return target;
      })();
      this.building.set(file, p);
    }
    return p;
  }

  /** `stem.ext` in fp32 (the names caches had before precisions existed), `stem.fp16.ext` otherwise. */
  private fileName(stem: string, ext: string): string {
    return this.precision === 'fp32' ? `${stem}.${ext}` : `${stem}.${this.precision}.${ext}`;
  }

  private async weightsIndex(tower: Tower): Promise<WeightsIndex> {
    const indexName = this.fileName(tower, 'index.json');
    const indexFile = await this.once(indexName, async () => {
      const { weights } = await this.checkpoint();
      const entries = tower === 'vision' ? visionWeightEntries(this.config, weights) : textWeightEntries(this.config, weights);
      const index = await writeWeightsFile(path.join(this.dir, this.fileName(tower, 'bin')), entries, this.precision);
      await writeFileAtomic(path.join(this.dir, indexName), JSON.stringify(index));
      // Both towers prepared: every later graph reads the weights files, so the checkpoint (600 MB for
      // ViT-B/16) need not stay in memory beside ORT's own copy.
      const other: Tower = tower === 'vision' ? 'text' : 'vision';
      if (existsSync(path.join(this.dir, this.fileName(other, 'index.json')))) this.weightsPending = undefined;
    });
    return JSON.parse(await readFile(indexFile, 'utf8')) as WeightsIndex;
  }

  private graph(tower: Tower, name: string, build: (index: WeightsIndex, weightsFile: string, precision: Precision) => Uint8Array): Promise<string> {
    const graphName = this.fileName(name, 'onnx');
    return this.once(graphName, async () => {
      const index = await this.weightsIndex(tower);
      await writeFileAtomic(path.join(this.dir, graphName), build(index, this.fileName(tower, 'bin'), this.precision));
    });
  }

  visionGraph(spec: VisionGraphSpec): Promise<string> {
    return this.graph('vision', visionSpecName(spec), (i, f, p) => buildVisionGraph(this.config, i, f, spec, p));
  }

  twoStreamGraph(): Promise<string> {
    return this.graph('vision', 'vision-two-stream', (i, f, p) => buildTwoStreamGraph(this.config, i, f, p));
  }

  clsProjectionGraph(): Promise<string> {
    return this.graph('vision', 'vision-cls-projection', (i, f, p) => buildClsProjectionGraph(this.config, i, f, p));
  }

  textGraph(): Promise<string> {
    return this.graph('text', 'text', (i, f, p) => buildTextGraph(this.config, i, f, p));
  }
}
