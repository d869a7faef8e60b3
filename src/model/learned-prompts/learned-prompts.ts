import type { Tensor } from '../tensor.js';

export const TRAINER_NAMES = ['coop', 'kgcoop', 'ivlp', 'promptsrc', 'maple'] as const;
export type TrainerName = (typeof TRAINER_NAMES)[number];

/**
 * Layer indices: "layer i" is the transformer block index (0-based, as in `resblocks.{i}`). A deep prompt
 * of layer i replaces the prompt tokens in the block's *input*, i.e. after block i-1 and before block i,
 * for i = 1..depth-1; layer 0's prompts are the shallow ones (ctx in the text, `vision.shallow` in the
 * image). Layers without a deep prompt pass the previous layer's prompt tokens through unchanged.
 */
export interface VisionPrompts {
  /** Prompt tokens n_v. */
  nCtx: number;
  /**
   * [n_v, D_v]: appended at the end of the sequence (after CLS and the patches) once the positional
   * embedding is added, before ln_pre. It has no positional embedding.
   */
  shallow: Tensor;
  /** layer i → [n_v, D_v]: replaces the last n_v tokens before vision block i. */
  deep: ReadonlyMap<number, Tensor>;
}

/** The learned prompts of a prompt-tuned CLIP, in the base model's widths (D_t text, D_v vision). */
export interface LearnedPrompts {
  trainer: TrainerName;
  /** Text context tokens n_ctx. */
  nCtx: number;
  /**
   * The embeddings that replace the n_ctx "X" tokens of "X X … X <class name>." (positions 1..n_ctx, after
   * SOS; before the positional embedding is added): [n_ctx, D_t] shared by every class, or
   * [n_cls, n_ctx, D_t] class-specific (CoOp/KgCoOp with CSC; n_cls must match the class list).
   */
  ctx: Tensor;
  /** layer i → [n_ctx, D_t]: replaces positions 1..n_ctx before text block i. */
  deepText: ReadonlyMap<number, Tensor>;
  /** IVLP, PromptSRC (absent when trained language-only) and MaPLe. */
  vision?: VisionPrompts;
}

/** Prompt depth as the trainers' configs count it: 1 = shallow only; deep prompts up to layer depth-1. */
export function promptDepth(deep: ReadonlyMap<number, Tensor>): number {
  return 1 + Math.max(0, ...deep.keys());
}

/** The prompts as named tensors (`ctx`, `text.deep.<i>`, `vision.shallow`, `vision.deep.<i>`), ordered. */
export function promptTensors(p: LearnedPrompts): Map<string, Tensor> {
  const out = new Map<string, Tensor>([['ctx', p.ctx]]);
  for (const layer of [...p.deepText.keys()].sort((a, b) => a - b))
    out.set(`text.deep.${layer}`, p.deepText.get(layer)!);
  if (p.vision) {
    out.set('vision.shallow', p.vision.shallow);
    for (const layer of [...p.vision.deep.keys()].sort((a, b) => a - b))
      out.set(`vision.deep.${layer}`, p.vision.deep.get(layer)!);
  }
  return out;
}
