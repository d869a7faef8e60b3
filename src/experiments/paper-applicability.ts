import { type ArchName, archConfig, type VisionConfig } from '../model/clip-config.js';
import { canonicalJson } from '../util/canonical-json.js';
import type { RunRowKey } from './run-json.js';

/**
 * When the paper's number of a row may stand beside ours: one rule for `falip run`, `falip eval` and
 * `falip table --from`.
 */

/** The architectures the paper reports numbers for (a table config's `arch`). */
export const PAPER_ARCHS = ['vit-b-16', 'vit-l-14'] as const satisfies readonly ArchName[];

/**
 * A layer selection ("9-12"), a token grid and an input size mean the same on any model of one
 * geometry, so the paper's number of a row applies to a model of its architecture's geometry (the tiny
 * test model shares ViT-B/16's) and to no other. The geometry is the architecture table's own.
 */
export function matchesPaperArch(v: PaperGeometry, arch: ArchName): boolean {
  return describeGeometry(v) === describeGeometry(archConfig(arch, 0).vision);
}

/** What decides whether a model is the paper's: its token grid and depth, and its width and heads. */
type PaperGeometry = Pick<VisionConfig, 'patchSize' | 'imageSize' | 'numLayers' | 'hiddenSize' | 'numHeads'>;

/**
 * A vision tower's geometry in words, e.g. "patch 16, 224 px, 12 layers of width 768, 12 heads". The
 * width belongs to it: the tiny and demo models share ViT-B/16's grid and depth, and a 64-wide
 * model's number beside ViT-B/16's would mean nothing.
 */
export function describeGeometry(v: PaperGeometry): string {
  return `patch ${v.patchSize}, ${v.imageSize} px, ${v.numLayers} layers of width ${v.hiddenSize}, ${v.numHeads} heads`;
}

/**
 * What makes two rows the same experiment: their methods with resolved parameters, the task's options,
 * and the learned prompts they run with (none on the paper's rows).
 */
export function sameExperiment(a: RunRowKey, b: RunRowKey): boolean {
  return (
    canonicalJson({ methods: a.methods, options: a.options, prompts: a.prompts }) ===
    canonicalJson({ methods: b.methods, options: b.options, prompts: b.prompts })
  );
}

/** What differs between the row that was run and the paper's, e.g. `falip alpha 5 (paper 0.2)`. */
function difference(ran: RunRowKey, paper: RunRowKey): string {
  if (ran.methods.length !== paper.methods.length || ran.methods.some((m, i) => m.name !== paper.methods[i]!.name)) {
    return `methods ${ran.methods.map((m) => m.name).join(' + ')} (paper ${paper.methods.map((m) => m.name).join(' + ')})`;
  }
  const diffs = ran.methods.flatMap((m, i) =>
    Object.keys(m.params)
      .filter((k) => canonicalJson(m.params[k]) !== canonicalJson(paper.methods[i]!.params[k]))
      .map(
        (k) => `${m.name} ${k} ${JSON.stringify(m.params[k])} (paper ${JSON.stringify(paper.methods[i]!.params[k])})`,
      ),
  );
  if (canonicalJson(ran.options) !== canonicalJson(paper.options))
    diffs.push(`options ${canonicalJson(ran.options)} (paper ${canonicalJson(paper.options)})`);
  if (ran.prompts?.name !== paper.prompts?.name)
    diffs.push(`prompts ${ran.prompts?.name ?? 'none'} (paper ${paper.prompts?.name ?? 'none'})`);
  return diffs.join(', ');
}

/** What the rule needs to know of the model a row ran on. */
export interface RanOn {
  vision: VisionConfig;
  /** How falip generated the weights when they are random, else null. */
  randomWeights: string | null;
}

/** The first footnote of a table on random weights, saying why it has no paper numbers. */
export function randomWeightsNote(how: string): string {
  return `This model has random weights (${how}): its numbers show that the machinery runs, not what CLIP does, so no paper number or Δ is shown beside them.`;
}

/**
 * Why the paper's number of `paper` (a row of a table measured on `arch`) does not apply to `ran`, run on
 * `model`; undefined when it does: the same experiment on trained weights of the paper's geometry.
 */
export function paperMismatch(model: RanOn, arch: ArchName, ran: RunRowKey, paper: RunRowKey): string | undefined {
  const { vision } = model;
  if (model.randomWeights !== null) return 'its model has random weights';
  if (!matchesPaperArch(vision, arch)) return `its model has ${describeGeometry(vision)}, the paper's is ${arch}`;
  if (!sameExperiment(ran, paper)) return `it was run with ${difference(ran, paper)}`;
  return undefined;
}
