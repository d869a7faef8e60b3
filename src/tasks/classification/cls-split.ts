import { createHash } from 'node:crypto';
import { imageSplitContent } from '../../datasets/content-hash.js';
import { CLASSES_FILE, MANIFEST_FILE, resolveImageRoot } from '../../datasets/dataset-info.js';
import { DatasetPin } from '../../datasets/dataset-pin.js';
import { requireRecordedSizes } from '../../datasets/image-headers.js';
import { centerCropBox, centerCropGeometry, type Preprocessing } from '../../image/input-view.js';
import { subsetItems, subsetLabels } from '../shared/class-subsets.js';
import { sampledSplit } from '../shared/sample-subset.js';
import type { LoadedSplit, Sampling, SplitView } from '../task-definition.js';
import { checkedClsSplit } from './check-cls.js';
import type { ClsClasses, ClsSample } from './cls-manifest.js';

/** How a split's images reach the model, and what the centre crop did to their boxes. */
export interface ClsView {
  preprocess: Preprocessing;
  /** The model's input size: a centre crop is size×size. */
  size: number;
  /** Centre crop: boxes the crop cut part of away (clipped to it), over the whole split. */
  clipped: number;
  /** Centre crop: boxes the crop cut away entirely; their region is the whole crop. */
  outside: number;
}

export interface ClsSplitData {
  /** Their boxes are in the coordinates of the image the methods see: the centre crop's under center-crop. */
  samples: ClsSample[];
  classes: ClsClasses;
  imageRoot: string;
  view: ClsView;
  /** Base-to-new: the half of the classes evaluated, as labels [from, to) of the dataset's. */
  classRange: { from: number; to: number; of: number };
  /** Each sample's manifest line (`file:line`), by id, for what evaluation finds wrong with its image. */
  lineOf: ReadonlyMap<string, string>;
  /** Each sample's image size as the manifest records it (a centre crop's samples are S×S). */
  recorded: ReadonlyMap<string, { width: number; height: number }>;
}

export type ClsSplit = LoadedSplit<ClsSplitData>;

/**
 * The boxes of a centre-cropped split in the crop's S×S pixels. A box the crop cuts away entirely
 * leaves a prompt with no region on its image; it gets the whole crop, as an image without
 * foreground gets the whole image at import (both counted in the footnotes).
 */
function croppedBoxes(
  samples: readonly ClsSample[],
  size: number,
): { samples: ClsSample[]; clipped: number; outside: number } {
  let clipped = 0;
  let outside = 0;
  const out = samples.map((s): ClsSample => {
    const v = centerCropBox(s.box, s.width, s.height, centerCropGeometry(s.width, s.height, size));
    if (v.box === null) outside++;
    else if (v.clipped) clipped++;
    return { ...s, width: size, height: size, box: v.box ?? [0, 0, size, size] };
  });
  return { samples: out, clipped, outside };
}

/**
 * A classification split as a run evaluates it: under `view.classes` one half of its classes (images
 * of the other half left out, labels and names relabelled 0..k−1), its boxes in the coordinates of the
 * image the encoder sees. The content hash covers the half and the preprocessing too: they decide the
 * numbers as the manifest does.
 */
export async function loadClsSplit(
  key: string,
  dir: string,
  sampling: Sampling,
  view: SplitView,
  preprocess: Preprocessing,
): Promise<ClsSplit> {
  const { parsed, pin } = await DatasetPin.load(
    dir,
    [MANIFEST_FILE, CLASSES_FILE],
    ({ texts, info }) => ({
      ...checkedClsSplit(dir, { manifest: texts[MANIFEST_FILE]!, classes: texts[CLASSES_FILE]! }),
      imageRoot: resolveImageRoot(dir, info),
    }),
    imageSplitContent,
  );
  const { entries, classes: allClasses, imageRoot } = parsed;
  const whole = entries.map((e) => e.sample);
  const lineOf = new Map(entries.map((e) => [e.sample.id, e.where]));
  const recorded = new Map(whole.map((s) => [s.id, { width: s.width, height: s.height }]));
  const n = allClasses.names.length;
  const range = subsetLabels(n, view.classes);
  const classes: ClsClasses =
    view.classes === 'all'
      ? allClasses
      : {
          ...allClasses,
          names: allClasses.names.slice(range.from, range.to),
          ...(allClasses.source_ids && { source_ids: allClasses.source_ids.slice(range.from, range.to) }),
        };
  const subset = subsetItems(whole, n, view.classes);
  const cropped = preprocess === 'center-crop' ? croppedBoxes(subset, view.imageSize) : undefined;
  const all = cropped?.samples ?? subset;
  const clsView: ClsView = {
    preprocess,
    size: view.imageSize,
    clipped: cropped?.clipped ?? 0,
    outside: cropped?.outside ?? 0,
  };
  const split = sampledSplit({ key, dir, all, sampling, pin }, (samples) => ({
    samples,
    classes,
    imageRoot,
    view: clsView,
    classRange: { ...range, of: n },
    lineOf,
    recorded,
  }));
  await requireRecordedSizes(
    split.data.samples.map((s) => ({ ...s, ...recorded.get(s.id)!, where: lineOf.get(s.id)! })),
    imageRoot,
  );
  // The half and the preprocessing decide the numbers as the manifest does: the run key's content hash holds them.
  if (view.classes === 'all' && preprocess === 'squash') return split;
  const contentHash = createHash('sha256')
    .update(`${pin.contentHash}\0classes=${view.classes}\0preprocess=${preprocess}@${view.imageSize}`)
    .digest('hex');
  return { ...split, contentHash };
}
