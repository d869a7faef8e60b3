import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { MANIFEST_FILE } from '../../datasets/dataset-info.js';
import { requireDataset } from '../../datasets/dataset-store.js';
import { writeNpy } from '../../image/npy.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { UserError } from '../../util/errors.js';
import { depthPreviewGray } from './depth-preview.js';
import { CLIP_INPUT_SIZE, CLOUD_INPUT_SHAPE, cloudViews, viewPlane } from './depth-views.js';
import { foregroundBox } from './foreground.js';
import { CloudFileCache } from './h5-clouds.js';
import { loadCloud, readPcClasses, readPcManifest } from './pc-manifest.js';
import { DEPTH_MAP_SIZE, occupiedPixels, VIEW_ANGLES } from './projection.js';

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
  await mkdir(out, { recursive: true });
  const perView = [];
  for (const [v, map] of views.maps.entries()) {
    // Without 'b-w' sharp writes one-channel raw input as an RGB PNG.
    const gray = sharp(depthPreviewGray(map), {
      raw: { width: DEPTH_MAP_SIZE, height: DEPTH_MAP_SIZE, channels: 1 },
    });
    const png = await gray.toColourspace('b-w').png().toBuffer();
    await writeFileAtomic(join(out, `view-${v}.png`), png);
    perView.push({
      view: v,
      angles: VIEW_ANGLES[v],
      points_kept: map.pointsKept,
      occupied_pixels: occupiedPixels(map),
      foreground_box: foregroundBox(viewPlane(views.clipInput, v), CLIP_INPUT_SIZE),
    });
  }
  await writeNpy(join(out, 'views.npy'), views.clipInput, CLOUD_INPUT_SHAPE);
  const summary = {
    dataset: name,
    split: split,
    index,
    id: sample.id,
    source: sample.source,
    row: sample.index,
    label: cloud.label,
    class: classes.names[cloud.label],
    points: cloud.points.length / 3,
    depth_map_size: DEPTH_MAP_SIZE,
    clip_input: { file: 'views.npy', shape: CLOUD_INPUT_SHAPE, dtype: 'float32' },
    views: perView,
  };
  await writeFileAtomic(join(out, 'views.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return { summary, sample, perView };
}
