import { UserError } from '../util/errors.js';

const SYNTAX = 'expected 1-based layers like "9-12", "12", "1,3,5-7", "last 4", "all" or "none"';

/**
 * Parses a 1-based layer selection ("9-12", "1,3,5-7", "last 4", "all", "none") into sorted, unique
 * 0-based layer indices for a model with `numLayers` layers. "last N" is how FALIP's default (9-12 of
 * ViT-B/16's 12 layers) carries over to deeper models such as ViT-L/14.
 */
export function parseLayers(spec: string, numLayers: number, what = 'layers'): number[] {
  const text = spec.trim().toLowerCase();
  if (text === 'all') return Array.from({ length: numLayers }, (_, i) => i);
  if (text === 'none') return [];
  const last = /^last\s*(\d+)$/.exec(text);
  if (last) {
    const n = Number(last[1]);
    if (n < 1 || n > numLayers) throw new UserError(`layer selection '${spec}': this model has ${numLayers} ${what}`);
    return Array.from({ length: n }, (_, i) => numLayers - n + i);
  }
  const chosen = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new UserError(`layer selection '${spec}': ${SYNTAX}`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first) throw new UserError(`layer selection '${spec}': range ${first}-${last} is reversed`);
    if (first < 1 || last > numLayers) {
      throw new UserError(`layer selection '${spec}': ${what} are 1-${numLayers} for this model`);
    }
    for (let layer = first; layer <= last; layer++) chosen.add(layer - 1);
  }
  return [...chosen].sort((a, b) => a - b);
}

/** 0-based layers back to the compact 1-based form parseLayers reads ([8,9,10,11] → "9-12"). */
export function formatLayers(layers0: readonly number[]): string {
  const sorted = [...new Set(layers0)].sort((a, b) => a - b);
  if (sorted.length === 0) return 'none';
  const runs: string[] = [];
  let start = sorted[0]!;
  for (let i = 1; i <= sorted.length; i++) {
    const prev = sorted[i - 1]!;
    if (i < sorted.length && sorted[i] === prev + 1) continue;
    runs.push(start === prev ? `${start + 1}` : `${start + 1}-${prev + 1}`);
    start = sorted[i]!;
  }
  return runs.join(',');
}

/** Indices reaching biasGate were validated by the caller's parser; one out of range is a bug. */
function checkIndices(what: string, indices: readonly number[], count: number): void {
  const bad = indices.find((v) => !Number.isInteger(v) || v < 0 || v >= count);
  if (bad !== undefined) throw new RangeError(`biasGate: ${what} ${bad} is outside 0..${count - 1}`);
}

/**
 * The encoder's `bias_gate` input, [numLayers, numHeads] row-major: 1 where the attention bias is
 * added (chosen layers × chosen heads), 0 elsewhere.
 * @param layers 0-based layers, as returned by parseLayers.
 * @param heads 0-based heads; all heads when omitted (the reference broadcasts its mask to every head).
 */
export function biasGate(
  layers: readonly number[],
  numLayers: number,
  numHeads: number,
  heads?: readonly number[],
): Float32Array {
  const gate = new Float32Array(numLayers * numHeads);
  const chosenHeads = heads ?? Array.from({ length: numHeads }, (_, h) => h);
  checkIndices('layer', layers, numLayers);
  checkIndices('head', chosenHeads, numHeads);
  for (const layer of layers) {
    for (const head of chosenHeads) gate[layer * numHeads + head] = 1;
  }
  return gate;
}
