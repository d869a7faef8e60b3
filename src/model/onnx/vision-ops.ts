import type { ClipConfig } from '../clip-config.js';
import { type GraphBuilder, int, ints } from './graph-builder.js';
import { layerNorm, mlp, towerContext, type TowerContext } from './transformer-ops.js';
import type { WeightsIndex } from './weights-file.js';

/**
 * Graph pieces every vision graph shares (the families in model/graphs): one definition each, so the
 * analysis graphs compute exactly what the encoder's graphs compute.
 */

/** The vision tower's weights and settings inside graph `g`. */
export function visionContext(cfg: ClipConfig, g: GraphBuilder, index: WeightsIndex): TowerContext {
  return towerContext(g, index, 'vision', cfg.vision, cfg.hiddenAct);
}

/**
 * pixels [B,3,S,S] → patch tokens with CLS prepended, positions added, ln_pre: [B,T,D]. `appended`
 * [B,n,D] (learned vision prompts) joins the sequence after the positional embedding and before ln_pre,
 * without a position of its own: [B,T+n,D].
 */
export function embed(c: TowerContext, cfg: ClipConfig, pixels: string, appended?: string): string {
  const { g } = c;
  const d = cfg.vision.hiddenSize;
  const p = cfg.vision.patchSize;
  const conv = g.op('Conv', [pixels, c.weight('v.patch')], { kernel_shape: ints([p, p]), strides: ints([p, p]) });
  // Row-major flattening of the grid: token 1 + row·G + col, as CLIP's conv → reshape.
  const patches = g.op('Transpose', [g.op('Reshape', [conv, g.constInt64([0, d, -1])])], { perm: ints([0, 2, 1]) });
  const batch = g.op('Slice', [g.op('Shape', [pixels]), g.constInt64([0]), g.constInt64([1])]);
  const cls = g.op('Expand', [c.weight('v.cls'), g.op('Concat', [batch, g.constInt64([1, d])], { axis: int(0) })]);
  const tokens = g.op('Concat', [cls, patches], { axis: int(1) });
  const placed = g.op('Add', [tokens, c.weight('v.pos')]);
  return layerNorm(c, appended ? g.op('Concat', [placed, appended], { axis: int(1) }) : placed, 'v.ln_pre');
}

/** Row 0 of a [B,T,…] tensor, keeping the axis: [B,1,…]. */
export function clsRow(g: GraphBuilder, x: string): string {
  return g.op('Slice', [x, g.constInt64([0]), g.constInt64([1]), g.constInt64([1])]);
}

/** Row 0 of a [B,T,…] tensor without the axis: [B,…]. */
export function clsOf(g: GraphBuilder, x: string): string {
  return g.op('Gather', [x, g.constInt64([0], [])], { axis: int(1) });
}

/** bias_gate row l as [1,H,1,1], so one attention bias serves any choice of layers and heads. */
export function gateRow(g: GraphBuilder, gate: string, layer: number, heads: number): string {
  return g.op('Reshape', [
    g.op('Gather', [gate, g.constInt64([layer], [])], { axis: int(0) }),
    g.constInt64([1, heads, 1, 1]),
  ]);
}

/** Stacks per-layer [B,…] tensors into [B,L,…]. */
export function stackLayers(g: GraphBuilder, perLayer: readonly string[]): string {
  return g.op(
    'Concat',
    perLayer.map((t) => g.op('Unsqueeze', [t, g.constInt64([1])])),
    { axis: int(1) },
  );
}

/** ln_post(CLS residual [B,D] or [B,1,D]) · proj. */
export function projectCls(c: TowerContext, cls: string): string {
  return c.g.op('MatMul', [layerNorm(c, cls, 'v.ln_post'), c.weight('v.proj')]);
}

/** The embedding of a residual stream [B,T,D]: its CLS row through ln_post and the projection. */
export function project(c: TowerContext, residual: string): string {
  return projectCls(c, clsOf(c.g, residual));
}

/** The second half of a block on its residual `x` (all rows or the CLS row): x + MLP(LN2(x)). */
export function mlpResidual(c: TowerContext, x: string, key: string): string {
  return c.g.op('Add', [x, mlp(c, layerNorm(c, x, `${key}.ln2`), key)]);
}
