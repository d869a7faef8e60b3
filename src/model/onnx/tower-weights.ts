import type { ClipConfig, TowerConfig } from '../clip-config.js';
import { numel, type Tensor, type WeightMap } from '../tensor.js';

/**
 * Turns checkpoint tensors (HF names and layouts) into the layouts the graphs consume:
 * Linear weights pre-transposed to [in, out] so each projection is MatMul + Add (ORT fuses the pair),
 * q/k/v fused into one [D, 3D] projection, and the 1/√d_head attention scale folded into q.
 */

function get(w: WeightMap, name: string): Tensor {
  const t = w.get(name);
  if (!t) throw new Error(`weights: missing ${name}`); // checkpoint.ts validated names already
  return t;
}

/** [out, in] → [in, out]. */
export function transposed(t: Tensor): Tensor {
  const [rows, cols] = t.shape as [number, number];
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c]!;
  }
  return { shape: [cols, rows], data: out };
}

function fusedQkv(w: WeightMap, prefix: string, tower: TowerConfig): [Tensor, Tensor] {
  const d = tower.hiddenSize;
  const scale = 1 / Math.sqrt(d / tower.numHeads);
  const weight = new Float32Array(d * 3 * d);
  const bias = new Float32Array(3 * d);
  (['q_proj', 'k_proj', 'v_proj'] as const).forEach((proj, part) => {
    const s = proj === 'q_proj' ? scale : 1;
    const wt = get(w, `${prefix}.self_attn.${proj}.weight`).data; // [out, in]
    const b = get(w, `${prefix}.self_attn.${proj}.bias`).data;
    for (let o = 0; o < d; o++) {
      for (let i = 0; i < d; i++) weight[i * 3 * d + part * d + o] = wt[o * d + i]! * s;
      bias[part * d + o] = b[o]! * s;
    }
  });
  return [
    { shape: [d, 3 * d], data: weight },
    { shape: [3 * d], data: bias },
  ];
}

function* layerEntries(w: WeightMap, hfPrefix: string, key: string, tower: TowerConfig): Generator<[string, Tensor]> {
  for (let l = 0; l < tower.numLayers; l++) {
    const p = `${hfPrefix}.encoder.layers.${l}`;
    const k = `${key}.l${l}`;
    yield [`${k}.ln1.w`, get(w, `${p}.layer_norm1.weight`)];
    yield [`${k}.ln1.b`, get(w, `${p}.layer_norm1.bias`)];
    const [qkvW, qkvB] = fusedQkv(w, p, tower);
    yield [`${k}.qkv.w`, qkvW];
    yield [`${k}.qkv.b`, qkvB];
    yield [`${k}.out.w`, transposed(get(w, `${p}.self_attn.out_proj.weight`))];
    yield [`${k}.out.b`, get(w, `${p}.self_attn.out_proj.bias`)];
    yield [`${k}.ln2.w`, get(w, `${p}.layer_norm2.weight`)];
    yield [`${k}.ln2.b`, get(w, `${p}.layer_norm2.bias`)];
    yield [`${k}.fc1.w`, transposed(get(w, `${p}.mlp.fc1.weight`))];
    yield [`${k}.fc1.b`, get(w, `${p}.mlp.fc1.bias`)];
    yield [`${k}.fc2.w`, transposed(get(w, `${p}.mlp.fc2.weight`))];
    yield [`${k}.fc2.b`, get(w, `${p}.mlp.fc2.bias`)];
  }
}

export function* visionWeightEntries(cfg: ClipConfig, w: WeightMap): Generator<[string, Tensor]> {
  const cls = get(w, 'vision_model.embeddings.class_embedding');
  yield ['v.patch', get(w, 'vision_model.embeddings.patch_embedding.weight')];
  yield ['v.cls', { shape: [1, 1, numel(cls.shape)], data: cls.data }];
  yield ['v.pos', get(w, 'vision_model.embeddings.position_embedding.weight')];
  yield ['v.ln_pre.w', get(w, 'vision_model.pre_layrnorm.weight')];
  yield ['v.ln_pre.b', get(w, 'vision_model.pre_layrnorm.bias')];
  yield* layerEntries(w, 'vision_model', 'v', cfg.vision);
  yield ['v.ln_post.w', get(w, 'vision_model.post_layernorm.weight')];
  yield ['v.ln_post.b', get(w, 'vision_model.post_layernorm.bias')];
  yield ['v.proj', transposed(get(w, 'visual_projection.weight'))];
}

export function* textWeightEntries(cfg: ClipConfig, w: WeightMap): Generator<[string, Tensor]> {
  yield ['t.tok', get(w, 'text_model.embeddings.token_embedding.weight')];
  yield ['t.pos', get(w, 'text_model.embeddings.position_embedding.weight')];
  yield* layerEntries(w, 'text_model', 't', cfg.text);
  yield ['t.ln_final.w', get(w, 'text_model.final_layer_norm.weight')];
  yield ['t.ln_final.b', get(w, 'text_model.final_layer_norm.bias')];
  yield ['t.proj', transposed(get(w, 'text_projection.weight'))];
}
