import type { AttentionBias } from '../encoder/requests.js';
import { gridSize } from '../model/clip-config.js';
import { foveaBias } from './falip-mask.js';
import { biasGate } from './layer-spec.js';
import { defineMethod, tokenRegionOf, type PrepareContext } from './method-definition.js';
import type { ResolvedParams } from './params.js';
import { UserError } from '../util/errors.js';
import { ALPHA, FORM, HEADS, LAYERS, SIGMA, TOKENS } from './shared-params.js';

export const FALIP_PARAMS = { alpha: ALPHA, sigma: SIGMA, form: FORM, layers: LAYERS, heads: HEADS, tokens: TOKENS };

/** The foveal attention bias that makes the image encoder look at the context's box. */
export function falipAttention(p: ResolvedParams<typeof FALIP_PARAMS>, ctx: PrepareContext): AttentionBias {
  const v = ctx.vision;
  const region = tokenRegionOf(ctx);
  if (p.tokens === 'foreground' && !ctx.foregroundTokens)
    throw new UserError('falip tokens foreground: this task has no foreground tokens (they come from depth maps)');
  const only = p.tokens === 'foreground' ? ctx.foregroundTokens : undefined;
  return {
    bias: foveaBias(region, gridSize(v), { form: p.form, alpha: p.alpha, sigma: p.sigma }, only),
    gate: biasGate(p.layers, v.numLayers, v.numHeads, p.heads ?? undefined),
  };
}

/** FALIP: the unedited image, with a foveal bias on the attention logits toward the box. */
export const falip = defineMethod({
  name: 'falip',
  summary: 'foveal attention mask: a Gaussian over the box tokens added to the attention logits (image unchanged)',
  params: FALIP_PARAMS,
  fills: ['attention'],
  notes: (p) => [
    ...(p.form === 'a'
      ? []
      : [
          'forms b and c are described only in words (Fig. 8): b writes the region values into the region columns of every query row (the CLS row included), c on the diagonal at the region tokens; our reading',
        ]),
    ...(p.tokens === 'foreground'
      ? ['only the region tokens whose patch has foreground get the mask (our reading of "foreground positions")']
      : []),
  ],
  prepare: (p, ctx) => ({ attention: falipAttention(p, ctx) }),
});
