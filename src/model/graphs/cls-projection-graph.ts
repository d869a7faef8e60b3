import type { ClipConfig, VisionConfig } from '../clip-config.js';
import { ElemType, GraphBuilder } from '../onnx/graph-builder.js';
import type { Precision } from '../onnx/precision.js';
import { projectCls, visionContext } from '../onnx/vision-ops.js';
import type { WeightsIndex } from '../onnx/weights-file.js';
import type { Feeds, GraphFamily } from './graph-family.js';
import { outputEmbeds } from './vision-io.js';

const CLS_RESIDUAL = 'cls_residual';

const NAME = 'vision-cls-projection';

/** ln_post + projection of CLS residual vectors [B,D] → [B,P], for the post-hoc unleash recomposition. */
function buildClsProjectionGraph(
  cfg: ClipConfig,
  index: WeightsIndex,
  weightsFile: string,
  _spec: undefined,
  precision: Precision,
): Uint8Array {
  const g = new GraphBuilder(weightsFile, precision);
  const c = visionContext(cfg, g, index);
  const cls = g.input(CLS_RESIDUAL, ElemType.FLOAT, ['batch', cfg.vision.hiddenSize]);
  outputEmbeds(g, cfg, projectCls(c, cls));
  return g.toBytes(NAME);
}

export const clsProjectionGraph: GraphFamily<undefined> = {
  tower: 'vision',
  key: () => NAME,
  build: buildClsProjectionGraph,
};

/** A CLS residual [D] (before ln_post) to project. */
export function clsProjectionFeeds(v: VisionConfig, residual: Float32Array): Feeds {
  return { items: { [CLS_RESIDUAL]: { data: residual, dims: [v.hiddenSize] } }, shared: {} };
}
