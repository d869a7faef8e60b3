import { regionTokens } from '../image/token-grid.js';
import { gridSize } from '../model/clip-config.js';
import { defineMethod, tokenRegionOf } from './method-definition.js';
import { enumParam } from './params.js';
import { LAYERS } from './shared-params.js';

/**
 * Where the features are multiplied. The paper gives neither the layers nor the tensor (Fig. 7a only
 * shows the idea); our default is the residual stream at the input of FALIP's layers, the same place
 * FALIP steers, with the same reach.
 */
const SITE = enumParam({
  label: 'site',
  help: 'where token features are multiplied: the residual stream or the attention input',
  values: ['residual', 'attn-input'],
  default: 'residual',
});

/** The feature-mask ablation (paper Table 5 / Fig. 7a). */
export const featureMask = defineMethod({
  name: 'feature-mask',
  summary: 'feature mask (Fig. 7a): token features × a region mask (1 on CLS and the box tokens, 0 elsewhere)',
  params: { site: SITE, layers: LAYERS },
  fills: ['ablation'],
  notes: () => [
    'feature mask: the site and layers are our choice (the paper gives neither); CLS is kept because it becomes the embedding',
  ],
  prepare: (p, ctx) => {
    const v = ctx.vision;
    const grid = gridSize(v);
    const scale = new Float32Array(grid * grid + 1);
    scale[0] = 1;
    for (const t of regionTokens(tokenRegionOf(ctx), grid)) scale[t] = 1;
    return { ablation: { kind: 'token-scale', scale, site: p.site, layers: p.layers } };
  },
});
