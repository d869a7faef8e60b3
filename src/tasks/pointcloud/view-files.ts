import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { MANIFEST_FILE } from '../../datasets/dataset-info.js';
import { requireDataset } from '../../datasets/dataset-store.js';
import { writeNpy } from '../../image/npy.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { UserError } from '../../util/errors.js';
import { isFolderWrittenBy } from '../../util/output-target.js';
import { depthPreviewGray } from './depth-preview.js';
import { CLIP_INPUT_SIZE, CLOUD_INPUT_SHAPE, cloudViews, viewPlane } from './depth-views.js';
import { foregroundBox } from './foreground.js';
import { CloudFileCache } from './h5-clouds.js';
import { loadCloud, readPcClasses, readPcManifest } from './pc-manifest.js';
import { DEPTH_MAP_SIZE, occupiedPixels, VIEW_ANGLES } from './projection.js';

const VIEWS_JSON = 'views.json';

/** What views.json holds: the cloud, and per view its points, occupied pixels and foreground box. */
const viewsSummarySchema = z
  .object({
    dataset: z.string(),
    split: z.string(),
    index: z.number().int().nonnegative(),
    id: z.string(),
    source: z.string(),
    row: z.number().int().nonnegative(),
    label: z.number().int().nonnegative(),
    class: z.string(),
    points: z.number().int().nonnegative(),
    depth_map_size: z.number().int().positive(),
    clip_input: z.object({
      file: z.literal('views.npy'),
      shape: z.array(z.number().int()),
      dtype: z.literal('float32'),
    }),
    views: z.array(
      z.object({
        view: z.number().int().nonnegative(),
        angles: z.tuple([z.number(), z.number(), z.number()]).readonly(),
        points_kept: z.number().int().nonnegative(),
        occupied_pixels: z.number().int().nonnegative(),
        foreground_box: z.tuple([z.number(), z.number(), z.number(), z.number()]).readonly().nullable(),
      }),
    ),
  })
  .strict();
type ViewsSummary = z.infer<typeof viewsSummarySchema>;

/** The names `data views` writes; a folder holding nothing else, with a views.json of falip's, is one it wrote. */
const VIEW_FILES = /^(view-\d+\.png|views\.npy|views\.json)$/;

export function isViewsFolder(dir: string, names: readonly string[]): Promise<boolean> {
  return isFolderWrittenBy(dir, names, (n) => VIEW_FILES.test(n), VIEWS_JSON, viewsSummarySchema);
}

/**
 * `falip data views`: one cloud's six depth maps as PNGs to look at, CLIP's input as .npy and the views'
 * foreground boxes as JSON, written into `out` (created if missing).
 */
export async function writeCloudViews(name: string, split: string, index: number, out: string) {
  const { dir, info } = await requireDataset(name, split);
  if (info.task !== 'pointcloud')
    throw new UserError(`${name}/${split} is a ${info.task} dataset, not a point-cloud one`);
  const samples = await readPcManifest(join(dir, MANIFEST_FILE));
  const classes = await readPcClasses(dir);
  const sample = samples[index];
  if (!sample)
    throw new UserError(
      `--index ${index}: past the end of ${name}/${split} (${samples.length} clouds, 0..${samples.length - 1})`,
    );

  const cache = new CloudFileCache();
  const cloud = await loadCloud(cache, sample, classes.names.length).finally(() => cache.closeAll());
  const views = cloudViews(cloud.points);
  const pngs: Buffer[] = [];
  const perView: ViewsSummary['views'] = [];
  for (const [v, map] of views.maps.entries()) {
    // Without 'b-w' sharp writes one-channel raw input as an RGB PNG.
    const gray = sharp(depthPreviewGray(map), {
      raw: { width: DEPTH_MAP_SIZE, height: DEPTH_MAP_SIZE, channels: 1 },
    });
    pngs.push(await gray.toColourspace('b-w').png().toBuffer());
    perView.push({
      view: v,
      angles: VIEW_ANGLES[v]!,
      points_kept: map.pointsKept,
      occupied_pixels: occupiedPixels(map),
      foreground_box: foregroundBox(viewPlane(views.clipInput, v), CLIP_INPUT_SIZE),
    });
  }
  const summary: ViewsSummary = {
    dataset: name,
    split: split,
    index,
    id: sample.id,
    source: sample.source,
    row: sample.index,
    label: cloud.label,
    class: classes.names[cloud.label]!,
    points: cloud.points.length / 3,
    depth_map_size: DEPTH_MAP_SIZE,
    clip_input: { file: 'views.npy', shape: [...CLOUD_INPUT_SHAPE], dtype: 'float32' },
    views: perView,
  };
  await mkdir(out, { recursive: true });
  // views.json first: it is what marks the folder as falip's (isViewsFolder), so a run killed after it
  // leaves a folder the next run may write into again.
  await writeFileAtomic(join(out, VIEWS_JSON), `${JSON.stringify(summary, null, 2)}\n`);
  for (const [v, png] of pngs.entries()) await writeFileAtomic(join(out, `view-${v}.png`), png);
  await writeNpy(join(out, 'views.npy'), views.clipInput, CLOUD_INPUT_SHAPE);
  return { summary, sample, perView };
}
