import path from 'node:path';
import type { OpenedEncoder } from '../encoder/open-encoder.js';
import type { BoxXYWH } from '../image/box.js';
import { loadImage } from '../image/load-image.js';
import { validateBox } from '../image/validate-box.js';
import { parseLayers } from '../prompts/layer-spec.js';
import { makeMethod } from '../prompts/method.js';
import type { RenderedFigure } from '../report/svg-figure.js';
import { UserError } from '../util/errors.js';
import { attentionMaps, type AttentionMapsResult } from './attention-maps.js';

/**
 * The methods `falip viz attention` draws: the given ones, else plain CLIP beside FALIP and RedCircle on
 * a box, plain CLIP alone without one. Every method but plain looks at a box.
 */
export function vizMethodNames(given: readonly string[] | undefined, hasBox: boolean): string[] {
  const names = given ?? (hasBox ? ['plain', 'falip', 'redcircle'] : ['plain']);
  if (names.length === 0) throw new UserError('--method: no method given');
  const needsBox = names.filter((n) => n !== 'plain');
  if (!hasBox && needsBox.length > 0) throw new UserError(`--method ${needsBox.join(',')} needs --box x,y,w,h`);
  return [...names];
}

export interface VizAttentionRequest {
  /** The image file. */
  image: string;
  /** The region, in the image's pixels. */
  box?: BoxXYWH;
  /** How the box was given, for messages (`--box 40,30,120,90`). */
  boxLabel: string;
  /** One column each (see vizMethodNames), with their raw parameters. */
  methods: readonly { name: string; params: Record<string, unknown> }[];
  /** Layer selections as given, 1-based ("9-12", "last 4", "all"): one figure each. */
  showLayers: readonly string[];
  /** Heads drawn one by one below each layer's head mean, 1-based ("1,3"); none: the mean only. */
  showHeads?: string;
  /** A caption: adds its text-directed maps. */
  caption?: string;
  /** Opens the encoder, once the image and box are known to be good. */
  open(): Promise<OpenedEncoder>;
}

export interface VizAttentionResult {
  /** File stem → figure. */
  figures: Map<string, RenderedFigure>;
  /** viz.json, but for the list of files written. */
  summary: {
    image: string;
    box: BoxXYWH | null;
    model: { name: string; sha256: string };
    methods: { name: string; params: Record<string, unknown> }[];
    attention: AttentionMapsResult['attention'];
    text: AttentionMapsResult['text'];
  };
}

/** `falip viz attention`: the figures of attentionMaps and the numbers under them. */
export async function vizAttention(r: VizAttentionRequest): Promise<VizAttentionResult> {
  const image = await loadImage(r.image);
  if (r.box) validateBox(r.box, image, r.boxLabel);
  const { encoder, tokenizer, model } = await r.open();
  const v = encoder.config.vision;
  const methods = r.methods.map((e) => makeMethod(e.name, e.params, v, '--method'));
  const layerSelections = r.showLayers.map((s) => {
    const layers = parseLayers(s, v.numLayers);
    if (layers.length === 0) throw new UserError(`--show-layers ${s}: selects no layer`);
    return layers;
  });
  const heads = r.showHeads === undefined ? [] : parseLayers(r.showHeads, v.numHeads, 'heads');
  const text =
    r.caption === undefined
      ? undefined
      : {
          caption: r.caption,
          embeds: await encoder.text(tokenizer.encode(r.caption, encoder.config.text.contextLength)),
        };
  const result = await attentionMaps({
    encoder,
    image,
    key: path.resolve(r.image),
    box: r.box,
    methods,
    layerSelections,
    heads,
    text,
  });
  return {
    figures: result.figures,
    summary: {
      image: r.image,
      box: r.box ?? null,
      model: { name: model.name, sha256: model.sha256 },
      methods: methods.map((m) => ({ name: m.name, params: m.params })),
      attention: result.attention,
      text: result.text,
    },
  };
}
