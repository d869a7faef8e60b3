import { UserError } from '../util/errors.js';
import type { Tensor, WeightMap } from './tensor.js';

/**
 * Maps a checkpoint's tensors to the Hugging Face `CLIPModel` names and shapes used inside falip.
 * Accepts HF names (optionally under a `model.` or `clip.` prefix) or the OpenAI / open_clip
 * convention, recognised by `visual.conv1.weight`. Names neither convention knows are kept as they
 * are; the checkpoint loader ignores them. `source` names the file in error messages.
 */
export function toHfNames(raw: WeightMap, source = 'checkpoint'): WeightMap {
  const stripped = stripWrapperPrefix(raw);
  return stripped.has('visual.conv1.weight') ? fromOpenAiNames(stripped, source) : stripped;
}

/** Checkpoints saved from a wrapping module carry its attribute name before every key. */
function stripWrapperPrefix(raw: WeightMap): WeightMap {
  for (const prefix of ['model.', 'clip.']) {
    if ([...raw.keys()].every((name) => name.startsWith(prefix))) {
      return new Map([...raw].map(([name, t]) => [name.slice(prefix.length), t]));
    }
  }
  return raw;
}

/** OpenAI name → HF name, for tensors that only change name (per-layer names are handled apart). */
const OPENAI_RENAMES = new Map(
  Object.entries({
    'visual.class_embedding': 'vision_model.embeddings.class_embedding',
    'visual.positional_embedding': 'vision_model.embeddings.position_embedding.weight',
    'visual.conv1.weight': 'vision_model.embeddings.patch_embedding.weight',
    'visual.ln_pre.weight': 'vision_model.pre_layrnorm.weight',
    'visual.ln_pre.bias': 'vision_model.pre_layrnorm.bias',
    'visual.ln_post.weight': 'vision_model.post_layernorm.weight',
    'visual.ln_post.bias': 'vision_model.post_layernorm.bias',
    'token_embedding.weight': 'text_model.embeddings.token_embedding.weight',
    positional_embedding: 'text_model.embeddings.position_embedding.weight',
    'ln_final.weight': 'text_model.final_layer_norm.weight',
    'ln_final.bias': 'text_model.final_layer_norm.bias',
  }),
);

/** OpenAI projections are applied as `x @ proj`, i.e. stored [in, out]; HF Linear stores [out, in]. */
const OPENAI_TRANSPOSED = new Map(
  Object.entries({
    'visual.proj': 'visual_projection.weight',
    text_projection: 'text_projection.weight',
  }),
);

/** Within a residual block: OpenAI sub-module path → HF sub-module path. */
const OPENAI_BLOCK_RENAMES = new Map(
  Object.entries({
    'attn.out_proj': 'self_attn.out_proj',
    ln_1: 'layer_norm1',
    ln_2: 'layer_norm2',
    'mlp.c_fc': 'mlp.fc1',
    'mlp.c_proj': 'mlp.fc2',
  }),
);

const OPENAI_BLOCK = /^(visual\.)?transformer\.resblocks\.(\d+)\.(.+)\.(weight|bias)$/;
const OPENAI_IN_PROJ = /^(visual\.)?transformer\.resblocks\.(\d+)\.attn\.in_proj_(weight|bias)$/;

function fromOpenAiNames(raw: WeightMap, source: string): WeightMap {
  const out: WeightMap = new Map();
  for (const [name, t] of raw) {
    for (const [hfName, hfTensor] of fromOpenAiName(name, t, source)) out.set(hfName, hfTensor);
  }
  return out;
}

/**
 * One OpenAI-named tensor as the HF tensors it becomes: usually one, renamed; `in_proj_*` splits into
 * q, k and v; the projections are transposed. A name OpenAI's convention does not know is kept as it is.
 * Exported for checkpoints read one tensor at a time (the frozen CLIP inside a prompt-tuned checkpoint).
 */
export function fromOpenAiName(name: string, t: Tensor, source: string): Array<[string, Tensor]> {
  const renamed = OPENAI_RENAMES.get(name);
  if (renamed) return [[renamed, t]];
  const transposed = OPENAI_TRANSPOSED.get(name);
  if (transposed) return [[transposed, transpose(t, name, source)]];
  const inProj = OPENAI_IN_PROJ.exec(name);
  if (inProj) {
    const [, visual, layer, kind] = inProj;
    const prefix = `${visual ? 'vision_model' : 'text_model'}.encoder.layers.${layer}.self_attn`;
    const [q, k, v] = splitQkv(t, name, source);
    return [
      [`${prefix}.q_proj.${kind}`, q],
      [`${prefix}.k_proj.${kind}`, k],
      [`${prefix}.v_proj.${kind}`, v],
    ];
  }
  const block = OPENAI_BLOCK.exec(name);
  const blockModule = block && OPENAI_BLOCK_RENAMES.get(block[3]!);
  if (block && blockModule) {
    const [, visual, layer, , kind] = block;
    return [[`${visual ? 'vision_model' : 'text_model'}.encoder.layers.${layer}.${blockModule}.${kind}`, t]];
  }
  // logit_scale keeps its name; anything else is passed through for the caller to ignore or refuse.
  return [[name, t]];
}

/** `in_proj_weight` [3D, D] / `in_proj_bias` [3D] stack q, k, v along the first axis, in that order. */
function splitQkv(t: Tensor, name: string, source: string): [Tensor, Tensor, Tensor] {
  const rows = t.shape[0] ?? 0;
  if (t.shape.length < 1 || t.shape.length > 2 || rows % 3 !== 0) {
    throw new UserError(`${source}: tensor ${name} has shape [${t.shape.join(', ')}], expected [3·D] or [3·D, D]`);
  }
  const shape = [rows / 3, ...t.shape.slice(1)];
  const part = t.data.length / 3;
  // Views into the stacked tensor: no copy of the attention weights.
  const at = (i: number): Tensor => ({ shape, data: t.data.subarray(i * part, (i + 1) * part) });
  return [at(0), at(1), at(2)];
}

function transpose(t: Tensor, name: string, source: string): Tensor {
  if (t.shape.length !== 2) {
    throw new UserError(`${source}: tensor ${name} has shape [${t.shape.join(', ')}], expected a matrix`);
  }
  const [rows, cols] = t.shape as [number, number];
  const data = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) data[c * rows + r] = t.data[r * cols + c]!;
  }
  return { shape: [cols, rows], data };
}
