import { defineMethod } from './method-definition.js';
import { numberParam } from './params.js';
import { LAYERS } from './shared-params.js';

const HEAD_WEIGHT = numberParam({
  label: 'head weight',
  help: "w in G' → G + w(G' − G) for every head (2 = the paper's 2G' − G)",
  default: 2,
});

/**
 * Unleash (paper Sec. 4.4, Eq. 5–6): composed with a prompt that edits the image (`redcircle+unleash`),
 * each head's CLS contribution G′ of the edited image becomes G + w(G′ − G), G from the original.
 */
export const unleash = defineMethod({
  name: 'unleash',
  summary: "unleash (Sec. 4.4): each head's CLS contribution G' of the prompted image becomes G + w(G' − G)",
  params: { layers: LAYERS, head_weight: HEAD_WEIGHT },
  fills: ['ablation'],
  needs: ['edit'],
  notes: () => [
    'unleash: all heads, the out-projection split per head, recomposed after the forward passes and before ln_post (the edits do not reach later layers); the paper leaves these open',
  ],
  prepare: (p) => ({ ablation: { kind: 'unleash', layers: p.layers, headWeight: p.head_weight } }),
});
