import { FALIP_PARAMS, falipAttention } from './falip.js';
import { defineMethod } from './method-definition.js';
import { REDCIRCLE_PARAMS, redCircleEdit } from './redcircle.js';

/** Table 5 / Fig. 7c: q,k from the original image with the foveal mask, v from the RedCircle image. */
export const replaceQk = defineMethod({
  name: 'replace-qk',
  summary:
    "replace q,k (Fig. 7c): the RedCircle image's stream, with attention probabilities from the original image under the foveal mask",
  params: { ...REDCIRCLE_PARAMS, ...FALIP_PARAMS },
  fills: ['edit', 'attention', 'ablation'],
  notes: () => [
    "replace q,k: the probabilities are swapped in the foveal mask's layers (our choice; the paper gives none)",
  ],
  prepare: (p, ctx) => ({
    edit: redCircleEdit(p, ctx.box),
    attention: falipAttention(p, ctx),
    ablation: { kind: 'two-stream', probabilitiesFrom: 'original', layers: p.layers },
  }),
});
