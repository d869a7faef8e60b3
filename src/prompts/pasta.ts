import type { AttentionBias } from '../encoder/requests.js';
import { regionTokens } from '../image/token-grid.js';
import { gridSize } from '../model/clip-config.js';
import { biasGate } from './layer-spec.js';
import { defineMethod, tokenRegionOf, type PrepareContext } from './method-definition.js';
import { numberParam } from './params.js';
import { HEADS, LAYERS } from './shared-params.js';

const COEFFICIENT = numberParam({
  label: 'coefficient',
  help: "PASTA's factor on the attention to keys outside the box",
  default: 0.01,
  above: 0,
});

/**
 * Every query's unnormalized attention to keys outside the region multiplied by `coefficient` before
 * renormalization, which is exactly an additive log(coefficient) on those logits. The CLS key counts as
 * inside (it is kept).
 */
function pastaAttention(
  coefficient: number,
  layers: number[],
  heads: number[] | null,
  ctx: PrepareContext,
): AttentionBias {
  const v = ctx.vision;
  const grid = gridSize(v);
  const T = grid * grid + 1;
  const keyBias = new Float32Array(T).fill(Math.log(coefficient));
  keyBias[0] = 0;
  for (const t of regionTokens(tokenRegionOf(ctx), grid)) keyBias[t] = 0;
  const bias = new Float32Array(T * T);
  for (let q = 0; q < T; q++) bias.set(keyBias, q * T);
  return { bias, gate: biasGate(layers, v.numLayers, v.numHeads, heads ?? undefined) };
}

/** PASTA-style attention steering toward the box (paper Table 1). */
export const pasta = defineMethod({
  name: 'pasta',
  summary: 'PASTA: every query attends to keys outside the box with its weight × coefficient (a log-bias)',
  params: { coefficient: COEFFICIENT, layers: LAYERS, heads: HEADS },
  fills: ['attention'],
  notes: (p) => [
    ...(p.heads === null
      ? [
          'PASTA steers heads chosen by profiling them on the task; that profiling is not reproduced: every head of the chosen layers (our choice)',
        ]
      : []),
    "the layers are our choice (FALIP's by default); the paper gives none for PASTA",
  ],
  prepare: (p, ctx) => ({ attention: pastaAttention(p.coefficient, p.layers, p.heads, ctx) }),
});
