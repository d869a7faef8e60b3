import type { EncodeRequest } from '../encoder/requests.js';
import type { BoxXYWH } from '../image/box.js';
import { boxToTokenRegion, type TokenRegion } from '../image/token-grid.js';
import type { VisionConfig } from '../model/clip-config.js';
import type { ParamTable, ResolvedParams } from './params.js';

/** The parts of an encode request a prompt fills; a composed prompt has at most one filler per slot. */
export type RequestSlot = 'edit' | 'attention' | 'ablation';

/** What a prompt is prepared for: one region of one image on one model. */
export interface PrepareContext {
  /** The image's size in pixels: the box's coordinate system. */
  width: number;
  height: number;
  /** The region the prompt marks, xywh. */
  box: BoxXYWH;
  vision: VisionConfig;
  /** The region's foreground tokens (grid², 1 = foreground), where the task has them (depth maps). */
  foregroundTokens?: Uint8Array;
}

/** The patch tokens the context's box covers on its model's token grid. */
export function tokenRegionOf(ctx: PrepareContext): TokenRegion {
  return boxToTokenRegion(ctx.box, ctx.width, ctx.height, ctx.vision.imageSize, ctx.vision.patchSize);
}

/**
 * One visual prompt, described once: everything that names, lists, parses, keys or footnotes it is
 * derived from this. `prepare` is pure: the same parameters, image size and region give the same request.
 */
export interface MethodDefinition<P extends ParamTable = ParamTable> {
  /** `--method` name and YAML `name`. */
  name: string;
  /** One line: `falip methods`, `--help` and footnotes. */
  summary: string;
  params: P;
  fills: readonly RequestSlot[];
  /** Slots another part of a composition must fill (unleash compares with an edited image). */
  needs?: readonly RequestSlot[];
  /** A caption template of its own for tasks that caption an expression (`{}` = the expression). */
  captionTemplate?: string;
  /** Choices we made where the paper is silent, stated in footnotes. */
  notes?(p: ResolvedParams<P>): string[];
  prepare(p: ResolvedParams<P>, ctx: PrepareContext): EncodeRequest;
}

/** Keeps the parameter table's types for `prepare` and `notes`. */
export function defineMethod<P extends ParamTable>(def: MethodDefinition<P>): MethodDefinition<P> {
  return def;
}
