import { existsSync } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { removeStaleTemps } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { withFsErrors } from '../util/fs-errors.js';
import { loadCheckpoint, readConfig, type Checkpoint } from './checkpoint.js';
import type { ClipConfig } from './clip-config.js';
import { configHash, modelIdentity, type ModelIdentity } from './model-identity.js';
import type { ResolvedModel } from './model-store.js';
import { readSafetensorsMetadata } from './safetensors.js';
import type { GraphFamily, GraphMember, SpecArgs, Tower } from './graphs/graph-family.js';
import type { Precision } from './onnx/precision.js';
import { textWeightEntries, visionWeightEntries } from './onnx/tower-weights.js';
import { writeWeights, type WeightsIndex } from './onnx/weights-file.js';
import { checkFile, writeVerifiedFile, type FileCheck } from './verified-file.js';
import { checkWeightsIndex } from './weights-index-check.js';
import { checkpointSha256 } from './source-hash.js';

/** Bump when a graph's structure or the weight layout changes: old caches are then rebuilt. */
export const BUILDER_VERSION = 1;

/** A weights file's check: as `checkFile`, with the index it holds when usable. */
type WeightsCheck = Exclude<FileCheck, { state: 'ok' }> | { state: 'ok'; index: WeightsIndex };

/**
 * The cache folder of one identity: a changed config over the same weights (or new weights under the
 * same config) never finds the other's graphs.
 */
export function graphsFolderName(identity: Pick<ModelIdentity, 'sha256' | 'configHash'>): string {
  return `graphs-${identity.sha256.slice(0, 16)}-${identity.configHash.slice(0, 12)}-v${BUILDER_VERSION}`;
}

export interface GraphOptions {
  /** fp16 graphs and weights get their own files (`vision.fp16.bin`, `text.fp16.onnx`) beside fp32's. */
  precision?: Precision;
  /**
   * Told when a file is built on first use (a ViT's weights and graphs take a while); the function it returns
   * is called when the build is over. The CLI prints a line for builds that last.
   */
  onBuild?: (what: string) => () => void;
}

/** One line per damaged file and process: the memo in ModelGraphs checks each file once. */
function reportCorrupt(found: { file: string; reason: string }): void {
  process.stderr.write(`falip: ${found.file}: corrupt cache entry (${found.reason}), rebuilding\n`);
}

/**
 * The ONNX graphs of one model in one precision, built on first use and cached under the model's
 * folder, keyed by its identity (weights sha256 + config hash) and BUILDER_VERSION. Weights are
 * prepared once per tower into a shared external-data file; every graph variant refers to it. Every
 * cached file is checked against its manifest before its path is handed out (see verified-file.ts);
 * a damaged one is reported, rebuilt and never used.
 */
export class ModelGraphs {
  private checkpointPending?: Promise<Checkpoint>;
  private readonly indexes = new Map<Tower, Promise<WeightsIndex>>();
  private readonly graphs = new Map<string, Promise<string>>();

  private constructor(
    readonly model: ResolvedModel,
    readonly config: ClipConfig,
    /** What the numbers depend on: record it beside any result or feature computed with these graphs. */
    readonly identity: ModelIdentity,
    readonly dir: string,
    readonly precision: Precision,
    private readonly onBuild: (what: string) => () => void = () => () => undefined,
  ) {}

  /** Hex SHA-256 of model.safetensors (`identity.sha256`). */
  get sha256(): string {
    return this.identity.sha256;
  }

  static open(model: ResolvedModel, opts: GraphOptions = {}): Promise<ModelGraphs> {
    return withFsErrors(async () => {
      if (!existsSync(model.sourceDir))
        throw new UserError(`${model.sourceDir}: checkpoint folder not found (model '${model.name}')`);
      const config = await readConfig(path.join(model.sourceDir, 'config.json'));
      const weightsFile = path.join(model.sourceDir, 'model.safetensors');
      if (!existsSync(weightsFile)) throw new UserError(`${weightsFile}: not found`);
      const identity = modelIdentity(
        await checkpointSha256(weightsFile, model.cacheDir),
        config,
        await readSafetensorsMetadata(weightsFile),
      );
      const imported = model.registered;
      if (imported && (imported.sha256 !== identity.sha256 || imported.configHash !== identity.configHash)) {
        const what = imported.sha256 !== identity.sha256 ? 'model.safetensors' : 'config.json';
        throw new UserError(
          `model '${model.name}': ${path.join(model.sourceDir, what)} changed since it was imported; re-import it: falip model import ${model.sourceDir} --name ${model.name} --force`,
        );
      }
      const dir = path.join(model.cacheDir, graphsFolderName(identity));
      // A graph build killed half way leaves its temporary file (hundreds of MB for a ViT-L's weights).
      await removeStaleTemps(dir);
      await removeStaleTemps(model.cacheDir);
      return new ModelGraphs(model, config, identity, dir, opts.precision ?? 'fp32', opts.onBuild);
    });
  }

  /** The checkpoint, loaded at most once, and only if it still is the one `open` identified. */
  private checkpoint(): Promise<Checkpoint> {
    this.checkpointPending ??= loadCheckpoint(this.model.sourceDir).then((c) => {
      if (c.sha256 !== this.identity.sha256 || configHash(c.config) !== this.identity.configHash) {
        throw new UserError(`${this.model.sourceDir}: the checkpoint changed while falip was running; run again`);
      }
      return c;
    });
    return this.checkpointPending;
  }

  /** `stem.ext` in fp32 (the names caches had before precisions existed), `stem.fp16.ext` otherwise. */
  private fileName(stem: string, ext: string): string {
    return this.precision === 'fp32' ? `${stem}.${ext}` : `${stem}.${this.precision}.${ext}`;
  }

  /**
   * Builds what `found` says is missing or damaged. A damaged entry whose checkpoint can no longer be
   * read cannot be repaired here; the user is told which folder to delete.
   */
  private async rebuild(
    found: Exclude<FileCheck, { state: 'ok' }>,
    what: string,
    build: () => Promise<void>,
  ): Promise<void> {
    if (found.state === 'corrupt') reportCorrupt(found);
    const done = this.onBuild(`${what} of model ${this.model.name} (${this.precision})`);
    try {
      await mkdir(this.dir, { recursive: true });
      await build();
    } catch (err) {
      if (found.state !== 'corrupt' || !(err instanceof UserError)) throw err;
      throw new UserError(
        `${found.file}: corrupt cache entry that cannot be rebuilt (${err.message}); delete ${this.dir}`,
      );
    } finally {
      done();
    }
  }

  private async checkWeights(tower: Tower): Promise<WeightsCheck> {
    const bin = path.join(this.dir, this.fileName(tower, 'bin'));
    const indexFile = path.join(this.dir, this.fileName(tower, 'index.json'));
    const [binFound, indexFound] = await Promise.all([checkFile(bin), checkFile(indexFile)]);
    for (const found of [binFound, indexFound]) if (found.state === 'corrupt') return found;
    if (binFound.state === 'missing' || indexFound.state === 'missing') return { state: 'missing' };
    let json: unknown;
    try {
      json = JSON.parse(await readFile(indexFile, 'utf8'));
    } catch {
      return { state: 'corrupt', file: indexFile, reason: 'not valid JSON' };
    }
    const index = checkWeightsIndex(json, (await stat(bin)).size);
    return typeof index === 'string' ? { state: 'corrupt', file: indexFile, reason: index } : { state: 'ok', index };
  }

  private weightsIndex(tower: Tower): Promise<WeightsIndex> {
    let p = this.indexes.get(tower);
    if (!p) {
      p = withFsErrors(async () => {
        const found = await this.checkWeights(tower);
        if (found.state === 'ok') return found.index;
        let index: WeightsIndex = {};
        await this.rebuild(found, `${tower} weights`, async () => {
          const { weights } = await this.checkpoint();
          const entries =
            tower === 'vision' ? visionWeightEntries(this.config, weights) : textWeightEntries(this.config, weights);
          await writeVerifiedFile(path.join(this.dir, this.fileName(tower, 'bin')), async (sink) => {
            index = await writeWeights(sink, entries, this.precision);
          });
          await writeVerifiedFile(path.join(this.dir, this.fileName(tower, 'index.json')), (sink) =>
            sink(Buffer.from(JSON.stringify(index))),
          );
        });
        // Both towers prepared: every later graph reads the weights files, so the checkpoint (600 MB
        // for ViT-B/16) need not stay in memory beside ORT's own copy.
        const other: Tower = tower === 'vision' ? 'text' : 'vision';
        if (existsSync(path.join(this.dir, this.fileName(other, 'index.json')))) this.checkpointPending = undefined;
        return index;
      });
      this.indexes.set(tower, p);
    }
    return p;
  }

  /**
   * One member of a graph family for this model; its `path()` is verified, and built once per process
   * even when several callers ask at once. Its tower's weights are verified first every time: a cached
   * graph is only as good as the `.bin` it points into.
   */
  member<Spec>(family: GraphFamily<Spec>, ...[spec]: SpecArgs<Spec>): GraphMember {
    const key = family.key(spec as Spec, this.config);
    return { key, path: () => this.graph(family, spec as Spec, key) };
  }

  /** The verified path of one member (see `member`). */
  path<Spec>(family: GraphFamily<Spec>, ...spec: SpecArgs<Spec>): Promise<string> {
    return this.member(family, ...spec).path();
  }

  private graph<Spec>(family: GraphFamily<Spec>, spec: Spec, key: string): Promise<string> {
    const refused = family.unsupported?.(this.precision);
    if (refused) return Promise.reject(new UserError(refused));
    const graphName = this.fileName(key, 'onnx');
    let p = this.graphs.get(graphName);
    if (!p) {
      p = withFsErrors(async () => {
        const index = await this.weightsIndex(family.tower);
        const target = path.join(this.dir, graphName);
        const found = await checkFile(target);
        if (found.state !== 'ok') {
          const weightsFile = this.fileName(family.tower, 'bin');
          await this.rebuild(found, `graph ${graphName}`, () =>
            writeVerifiedFile(target, (sink) =>
              sink(family.build(this.config, index, weightsFile, spec, this.precision)),
            ),
          );
        }
        return target;
      });
      this.graphs.set(graphName, p);
    }
    return p;
  }
}
