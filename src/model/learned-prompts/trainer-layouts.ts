import type { TrainerName } from './learned-prompts.js';

/**
 * What each tensor of a Dassl checkpoint is, per trainer (names read from the public trainers:
 * KaiyangZhou/CoOp `trainers/coop.py`, htyao89/KgCoOp `trainers/kgcoop.py`,
 * muzairkhattak/multimodal-prompt-learning `trainers/independentVL.py` and `trainers/maple.py`,
 * muzairkhattak/PromptSRC `trainers/promptsrc.py`; FVG-PT's backbones are copies of these).
 *
 * CoOp / KgCoOp save their PromptLearner only (Dassl model name `prompt_learner`):
 *   ctx                         [n_ctx, D_t] or class-specific [n_cls, n_ctx, D_t]
 *   token_prefix, token_suffix  ignored: embeddings of SOS and of the training class names; every loader
 *                               deletes them and rebuilds them from the current class names
 *   KgCoOp adds bias_vectors [1, 512] and meta_net.linear1.{weight,bias}: ignored, its inference never
 *   uses them (it also hard-codes 512, so their width says nothing about the CLIP); its loader also
 *   deletes a token_midfix.
 * IVLP / PromptSRC save the whole CustomCLIP (`VLPromptLearner`):
 *   prompt_learner.ctx                                   [n_ctx, D_t]
 *   text_encoder.transformer.resblocks.{i}.VPT_shallow   [n_ctx, D_t], deep text prompt of layer i ≥ 1
 *   image_encoder.VPT                                    [n_v, D_v], the shallow vision prompt
 *   image_encoder.transformer.resblocks.{i}.VPT_shallow  [n_v, D_v], deep vision prompt of layer i ≥ 1
 *   image_encoder.*, text_encoder.*, logit_scale         the frozen CLIP under OpenAI names
 *   PromptSRC also keeps a frozen copy of the vision tower, prompt_learner.ZS_image_encoder.*: the one
 *   mark that tells it from IVLP (same prompt layout, same inference). A checkpoint trimmed to its
 *   prompts reads as IVLP unless the trainer is named.
 * MaPLe saves the whole CustomCLIP (`MultiModalPromptLearner`):
 *   prompt_learner.ctx                                         [n_ctx, D_t]
 *   prompt_learner.proj.{weight [D_v, D_t], bias [D_v]}        shallow vision prompt = proj(ctx)
 *   prompt_learner.compound_prompts_text.{j}                   [n_ctx, D_t], deep text prompt of layer j+1
 *   prompt_learner.compound_prompt_projections.{j}.{weight,bias}
 *                                                              deep vision prompt of layer j+1 =
 *                                                              projection j (compound_prompts_text.{j})
 *   (MaPLe's blocks skip block 0 and then take the compound prompts in list order, so list index j
 *   serves block j+1.)
 * All: a DataParallel `module.` prefix is stripped (Dassl strips it when saving; older files may not).
 */
export type TensorRole =
  | { kind: 'ctx' }
  | { kind: 'text-deep'; layer: number }
  | { kind: 'vision-shallow' }
  | { kind: 'vision-deep'; layer: number }
  /** MaPLe's text→vision projection of layer 0 (`proj`, applied to ctx) or of a deep layer. */
  | { kind: 'maple-projection'; layer: number; part: 'weight' | 'bias' }
  /** A tensor of the frozen CLIP; `openAiName` is its name in OpenAI's CLIP. */
  | { kind: 'frozen'; openAiName: string }
  | { kind: 'ignored' };

const IVLP_TEXT_DEEP = /^text_encoder\.transformer\.resblocks\.(\d+)\.VPT_shallow$/;
const IVLP_VISION_DEEP = /^image_encoder\.transformer\.resblocks\.(\d+)\.VPT_shallow$/;
const MAPLE_TEXT_DEEP = /^prompt_learner\.compound_prompts_text\.(\d+)$/;
const MAPLE_PROJECTION = /^prompt_learner\.compound_prompt_projections\.(\d+)\.(weight|bias)$/;
const MAPLE_PROJ = /^prompt_learner\.proj\.(weight|bias)$/;

const COOP_IGNORED = new Set(['token_prefix', 'token_suffix']);
const KGCOOP_IGNORED = new Set([...COOP_IGNORED, 'token_midfix', 'bias_vectors']);
const CUSTOM_CLIP_IGNORED = new Set(['prompt_learner.token_prefix', 'prompt_learner.token_suffix']);

/** The role of tensor `name` in a checkpoint of `trainer`; undefined when that trainer has no such tensor. */
export function roleOf(trainer: TrainerName, name: string): TensorRole | undefined {
  switch (trainer) {
    case 'coop':
      if (name === 'ctx') return { kind: 'ctx' };
      return COOP_IGNORED.has(name) ? { kind: 'ignored' } : undefined;
    case 'kgcoop':
      if (name === 'ctx') return { kind: 'ctx' };
      return KGCOOP_IGNORED.has(name) || name.startsWith('meta_net.') ? { kind: 'ignored' } : undefined;
    case 'ivlp':
    case 'promptsrc': {
      if (name === 'prompt_learner.ctx') return { kind: 'ctx' };
      if (name === 'image_encoder.VPT') return { kind: 'vision-shallow' };
      const text = IVLP_TEXT_DEEP.exec(name);
      if (text) return { kind: 'text-deep', layer: Number(text[1]) };
      const vision = IVLP_VISION_DEEP.exec(name);
      if (vision) return { kind: 'vision-deep', layer: Number(vision[1]) };
      if (trainer === 'promptsrc' && name.startsWith('prompt_learner.ZS_image_encoder.')) {
        return { kind: 'frozen', openAiName: `visual.${name.slice('prompt_learner.ZS_image_encoder.'.length)}` };
      }
      return CUSTOM_CLIP_IGNORED.has(name) ? { kind: 'ignored' } : frozenRole(name);
    }
    case 'maple': {
      if (name === 'prompt_learner.ctx') return { kind: 'ctx' };
      const proj = MAPLE_PROJ.exec(name);
      if (proj) return { kind: 'maple-projection', layer: 0, part: proj[1] as 'weight' | 'bias' };
      const text = MAPLE_TEXT_DEEP.exec(name);
      if (text) return { kind: 'text-deep', layer: Number(text[1]) + 1 };
      const projection = MAPLE_PROJECTION.exec(name);
      if (projection)
        return { kind: 'maple-projection', layer: Number(projection[1]) + 1, part: projection[2] as 'weight' | 'bias' };
      return CUSTOM_CLIP_IGNORED.has(name) ? { kind: 'ignored' } : frozenRole(name);
    }
  }
}

/**
 * CustomCLIP's frozen tensors: its image_encoder is CLIP's `visual`; its text_encoder holds the text
 * tower. IVLP's prompt parameters live inside those modules too; a trainer that has none (MaPLe) must
 * not mistake them for CLIP weights.
 */
function frozenRole(name: string): TensorRole | undefined {
  if (/(^|\.)VPT(_shallow)?$/.test(name)) return undefined;
  if (name === 'logit_scale') return { kind: 'frozen', openAiName: name };
  if (name.startsWith('image_encoder.'))
    return { kind: 'frozen', openAiName: `visual.${name.slice('image_encoder.'.length)}` };
  if (name.startsWith('text_encoder.')) return { kind: 'frozen', openAiName: name.slice('text_encoder.'.length) };
  return undefined;
}

/** The trainer whose tensor names these are, or undefined when none of the five matches. */
export function detectTrainer(names: readonly string[]): TrainerName | undefined {
  const has = (name: string): boolean => names.includes(name);
  const hasPrefix = (prefix: string): boolean => names.some((n) => n.startsWith(prefix));
  if (has('prompt_learner.ctx')) {
    if (has('prompt_learner.proj.weight') || hasPrefix('prompt_learner.compound_prompts_text.')) return 'maple';
    return hasPrefix('prompt_learner.ZS_image_encoder.') ? 'promptsrc' : 'ivlp';
  }
  if (has('ctx')) return has('bias_vectors') || hasPrefix('meta_net.') ? 'kgcoop' : 'coop';
  return undefined;
}
