import { defineMethod } from './method-definition.js';
import { REDCIRCLE_PARAMS, redCircleEdit } from './redcircle.js';
import { LAYERS } from './shared-params.js';

/** Table 5 / Fig. 7b: q,k from the RedCircle image, v from the original. */
export const replaceV = defineMethod({
  name: 'replace-v',
  summary: "replace v (Fig. 7b): the original image's stream, with attention probabilities from the RedCircle image",
  params: { ...REDCIRCLE_PARAMS, layers: LAYERS },
  fills: ['edit', 'ablation'],
  notes: () => ["replace v: the layers are our choice (FALIP's by default); the paper gives none"],
  prepare: (p, ctx) => ({
    edit: redCircleEdit(p, ctx.box),
    ablation: { kind: 'two-stream', probabilitiesFrom: 'edited', layers: p.layers },
  }),
});
