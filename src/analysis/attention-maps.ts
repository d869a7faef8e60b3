import type { Encoder, ScoreDecomposition } from '../encoder/encoder.js';
import { DecodedImage } from '../encoder/image-input.js';
import type { BoxXYWH } from '../image/box.js';
import type { RgbImage } from '../image/rgb-image.js';
import { gridSize } from '../model/clip-config.js';
import { formatLayers } from '../prompts/layer-spec.js';
import type { Method } from '../prompts/method.js';
import { patchFigureSvg, type PatchPanel, type PatchRow } from '../report/patch-figure.js';
import { renderFigure, short, type RenderedFigure } from '../report/svg-figure.js';
import { entropy, massOn, meanClsRow } from './attention-stats.js';
import { boxFractions, boxTokens, pngDataUri, promptedView, type PromptedView } from './prompted-view.js';
import { headsMap, otherTermsTotal } from './score-decomposition.js';

/** The shown image's width in the figures' panels (2× their drawn size, for the 2× PNG). */
const PANEL_IMAGE_WIDTH = 360;

export interface AttentionMapsRequest {
  encoder: Encoder;
  image: RgbImage;
  /** Identifies the image (its path): the encoder shares its preprocessing across methods. */
  key: string;
  /** The region; the whole image when absent (plain CLIP only). */
  box?: BoxXYWH;
  methods: Method[];
  /** One figure per selection: 0-based layers. */
  layerSelections: number[][];
  /** 0-based heads drawn one by one below each layer's head mean; none = the mean only. */
  heads: number[];
  /** A caption and its text embedding: adds the text-directed maps. */
  text?: { caption: string; embeds: Float32Array };
}

/** The numbers under one attention panel (head mean or one head). */
export interface AttentionPanelStats {
  method: string;
  /** 1-based. */
  layer: number;
  /** 1-based, or 'mean' over all heads. */
  head: number | 'mean';
  /** Share of the CLS row's attention on the box's tokens; null without a box. */
  in_box: number | null;
  /** Share on CLS itself. */
  cls_self: number;
  /** Entropy of the CLS row, nats. */
  entropy: number;
}

/** The score decomposition of one method, summarized over the shown layers and heads. */
export interface TextMapStats {
  method: string;
  /** 100·cos(image, caption). */
  score: number;
  /** 1-based, compact ("9-12"). */
  layers: string;
  heads: string;
  /** Σ over every token (CLS included) of the shown heads' terms: the map's total. */
  shown_heads_share: number;
  /** The CLS token's own part of it (not on the patch grid). */
  cls_token_part: number;
  /** Every head of every layer. */
  all_heads_share: number;
  /** Embedding, out-projection biases, MLPs, ln_post's bias. */
  other_terms: number;
}

export interface AttentionMapsResult {
  /** File stem → figure. */
  figures: Map<string, RenderedFigure>;
  attention: { layers: string; panels: AttentionPanelStats[] }[];
  text: { caption: string; maps: TextMapStats[] } | null;
}

const ATTENTION_LEGEND = [
  "Colour: the CLS query's attention to each patch (its softmax probability; its attention to itself is left out of the grid), inferno from black (0) to pale yellow (the row's largest value, on the right). One colour scale per row, so the methods of a row compare directly.",
  "Cyan outline: the box. Under each panel: the share of the CLS row's attention inside the box, and on CLS itself. Each column shows the image as that method's encoder sees it.",
];

const TEXT_LEGEND = [
  "Colour: each patch's contribution to the image–text score 100·cos(image, text) through the shown heads' value paths (Gandelsman et al.'s decomposition; ln_post linear at the final CLS's mean and std), red positive, blue negative, opacity proportional to |value| up to the row's largest, over the image in gray.",
  "Under each panel: the map's total over every token, the CLS token's part of it (not on the grid), and the whole score; the remaining terms (embedding, MLPs, biases) make up the difference.",
];

function fileStem(prefix: string, layers: readonly number[]): string {
  return `${prefix}-layers-${formatLayers(layers).replaceAll(',', '_')}`;
}

function headsLabel(heads: readonly number[], H: number): string {
  return heads.length === H ? 'all' : formatLayers(heads);
}

function percent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

/** The patch values of a [T] row: tokens 1..T−1 on the grid. */
function patches(row: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: row.length - 1 }, (_, i) => row[i + 1]!);
}

/** 0, 1, …, n − 1: every layer or every head. */
function indices(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function sum(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s;
}

function rowMax(panels: readonly PatchPanel[], abs: boolean): number {
  let m = 0;
  for (const p of panels)
    for (let i = 0; i < p.values.length; i++) m = Math.max(m, abs ? Math.abs(p.values[i]!) : p.values[i]!);
  return m;
}

/**
 * The figures of `falip viz attention`: per layer selection, the CLS attention over the patch grid for
 * every method side by side (rows: each layer's head mean, then the chosen heads); with a caption, the
 * text-directed maps of the same layers (rows: the selection's sum, then each layer).
 */
export async function attentionMaps(req: AttentionMapsRequest): Promise<AttentionMapsResult> {
  const v = req.encoder.config.vision;
  const size = { width: req.image.width, height: req.image.height };
  const box = req.box ?? ([0, 0, size.width, size.height] as const);
  const tokens = req.box ? boxTokens(req.box, size, v) : null;
  const views = await Promise.all(req.methods.map((m) => promptedView(m, req.image, box)));
  const input = new DecodedImage(req.key, req.image);
  const [captures, images] = await Promise.all([
    Promise.all(views.map((view) => req.encoder.capture(input, view.request))),
    Promise.all(views.map((view) => pngDataUri(view.image, PANEL_IMAGE_WIDTH))),
  ]);
  const panelBox = req.box ? boxFractions(req.box, size) : undefined;
  const aspect = size.height / size.width;
  const allHeads = indices(v.numHeads);
  const figures = new Map<string, RenderedFigure>();
  const attention: AttentionMapsResult['attention'] = [];

  for (const layers of req.layerSelections) {
    const stats: AttentionPanelStats[] = [];
    const rows: PatchRow[] = layers.flatMap((l) =>
      [null, ...req.heads].map((head) => {
        const panels = views.map((view, m) => {
          const row = meanClsRow(captures[m]!, v, l, head === null ? allHeads : [head]);
          const inBox = tokens ? massOn(row, tokens) : null;
          stats.push({
            method: view.method.name,
            layer: l + 1,
            head: head === null ? 'mean' : head + 1,
            in_box: inBox,
            cls_self: row[0]!,
            entropy: entropy(row),
          });
          return {
            image: images[m]!,
            values: patches(row),
            box: panelBox,
            caption: [`${inBox === null ? '' : `box ${percent(inBox)} · `}cls ${percent(row[0]!)}`],
          };
        });
        const label =
          head === null ? `layer ${l + 1} · mean of ${v.numHeads} heads` : `layer ${l + 1} · head ${head + 1}`;
        return { label, scale: { kind: 'sequential' as const, max: rowMax(panels, false), unit: 'CLS attn' }, panels };
      }),
    );
    const svg = patchFigureSvg({
      title: `CLS attention, layers ${formatLayers(layers)}`,
      columns: views.map((x) => x.method.name),
      rows,
      grid: gridSize(v),
      aspect,
      legend: ATTENTION_LEGEND,
    });
    figures.set(fileStem('attention', layers), await renderFigure(svg));
    attention.push({ layers: formatLayers(layers), panels: stats });
  }

  const text = req.text ? await textMaps(req, req.text, { views, input, panelBox, aspect, allHeads }, figures) : null;
  return { figures, attention, text };
}

/** What the text maps share with the attention figures: the prepared views, the image and its box, every head. */
interface SharedViews {
  views: readonly PromptedView[];
  /** The image as the encoder takes it, whose preprocessing the encoder has already made. */
  input: DecodedImage;
  panelBox: PatchPanel['box'];
  aspect: number;
  allHeads: readonly number[];
}

/** The text-directed maps: one decomposition per method, summed per figure row over layers and shown heads. */
async function textMaps(
  req: AttentionMapsRequest,
  text: NonNullable<AttentionMapsRequest['text']>,
  { views, input, panelBox, aspect, allHeads }: SharedViews,
  figures: Map<string, RenderedFigure>,
): Promise<{ caption: string; maps: TextMapStats[] }> {
  const { encoder } = req;
  const v = encoder.config.vision;
  const heads = req.heads.length > 0 ? req.heads : allHeads;
  const images = await Promise.all(views.map((view) => pngDataUri(view.image, PANEL_IMAGE_WIDTH, true)));
  const decompositions: ScoreDecomposition[] = await Promise.all(
    views.map((view) => encoder.decompose(input, view.request, text.embeds)),
  );
  // Every head of every layer: the same for each layer selection.
  const allHeadsShares = decompositions.map((d) => sum(headsMap(d, v, indices(v.numLayers), allHeads)));
  const maps: TextMapStats[] = [];
  for (const layers of req.layerSelections) {
    /** A figure row: per method the map of layers `ls` and shown heads, and the map's total. */
    const rowOf = (ls: readonly number[], label: string): { row: PatchRow; maps: Float64Array[]; totals: number[] } => {
      const rowMaps = decompositions.map((d) => headsMap(d, v, ls, heads));
      const totals = rowMaps.map(sum);
      const panels = decompositions.map((d, m) => ({
        image: images[m]!,
        values: patches(rowMaps[m]!),
        box: panelBox,
        caption: [`heads ${short(totals[m]!)} (cls token ${short(rowMaps[m]![0]!)})`, `score ${short(d.score)}`],
      }));
      return {
        row: { label, scale: { kind: 'signed', max: rowMax(panels, true), unit: 'score' }, panels },
        maps: rowMaps,
        totals,
      };
    };
    const label = (ls: readonly number[]) =>
      `layer${ls.length > 1 ? 's' : ''} ${formatLayers(ls)} · heads ${headsLabel(heads, v.numHeads)}`;
    const selection = rowOf(layers, `Σ ${label(layers)}`);
    const rows = [selection.row, ...(layers.length > 1 ? layers.map((l) => rowOf([l], label([l])).row) : [])];
    const svg = patchFigureSvg({
      title: `Text-directed map, layers ${formatLayers(layers)}: "${text.caption}"`,
      columns: views.map((x) => x.method.name),
      rows,
      grid: gridSize(v),
      aspect,
      legend: TEXT_LEGEND,
    });
    figures.set(fileStem('text-map', layers), await renderFigure(svg));
    decompositions.forEach((d, m) => {
      maps.push({
        method: views[m]!.method.name,
        score: d.score,
        layers: formatLayers(layers),
        heads: headsLabel(heads, v.numHeads),
        shown_heads_share: selection.totals[m]!,
        cls_token_part: selection.maps[m]![0]!,
        all_heads_share: allHeadsShares[m]!,
        other_terms: otherTermsTotal(d),
      });
    });
  }
  return { caption: text.caption, maps };
}
