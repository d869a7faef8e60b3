import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import sharp from 'sharp';
import { MANIFEST_FILE } from '../datasets/dataset-info.js';
import { requireDataset } from '../datasets/dataset-store.js';
import { CloudFileCache } from '../datasets/pointcloud/h5-clouds.js';
import { POINTCLOUD_SPLIT } from '../datasets/pointcloud/pc-import.js';
import { loadCloud, readPcClasses, readPcManifest } from '../datasets/pointcloud/pc-manifest.js';
import { writeNpy } from '../image/npy.js';
import { CLIP_INPUT_SIZE, CLOUD_INPUT_SHAPE, cloudViews, viewPlane } from '../tasks/pointcloud/depth-views.js';
import { depthPreviewGray, PREVIEW_FAR, PREVIEW_NEAR } from '../tasks/pointcloud/depth-preview.js';
import { foregroundBox } from '../tasks/pointcloud/foreground.js';
import { DEPTH_MAP_SIZE, occupiedPixels, VIEW_ANGLES } from '../tasks/pointcloud/projection.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';

const HELP_AFTER = `
Files written into --out:
  view-0.png .. view-5.png  the six 128×128 depth maps, views in PointCLIP's order. Black: no point
                            landed there. Otherwise gray, linear in depth (distance from the camera
                            along its axis): 255 (white) at depth ≤ ${PREVIEW_NEAR.toFixed(1)}, the nearest a unit-sphere
                            cloud gets, down to 64 at depth ≥ ${PREVIEW_FAR.toFixed(1)}, the farthest: near is bright.
  views.npy                 CLIP's input: [6, 3, ${CLIP_INPUT_SIZE}, ${CLIP_INPUT_SIZE}] float32, the depth maps resized bilinearly
                            (align_corners) with the raw depths in all three channels, no mean/std.
  views.json                per view: points kept, occupied pixels of the 128×128 map, and the
                            foreground box [x, y, w, h] in ${CLIP_INPUT_SIZE}-pixel coordinates (null for an empty view).`;

export function registerViews(data: Command): void {
  data
    .command('views')
    .description(
      "write one cloud's six PointCLIP depth views: PNGs to look at, CLIP's input as .npy, foreground boxes as JSON",
    )
    .argument('<dataset>', 'an imported point-cloud dataset, e.g. modelnet40 or scanobjectnn')
    .requiredOption('--index <n>', '0-based position of the cloud in the manifest')
    .requiredOption('--out <dir>', 'folder to write into (created if missing)')
    .option('--split <name>', 'split of the dataset', POINTCLOUD_SPLIT)
    .addHelpText('after', HELP_AFTER)
    .action(async (name: string, opts: { index: string; out: string; split: string }) => {
      if (!/^\d+$/.test(opts.index)) throw new UserError(`--index ${opts.index}: expected a non-negative integer`);
      const index = Number(opts.index);
      const { dir, info } = await requireDataset(name, opts.split);
      if (info.task !== 'pointcloud')
        throw new UserError(`${name}/${opts.split} is a ${info.task} dataset, not a point-cloud one`);
      const samples = await readPcManifest(join(dir, MANIFEST_FILE));
      const classes = await readPcClasses(dir);
      const sample = samples[index];
      if (!sample)
        throw new UserError(
          `--index ${index}: past the end of ${name}/${opts.split} (${samples.length} clouds, 0..${samples.length - 1})`,
        );

      const cache = new CloudFileCache();
      const cloud = await loadCloud(cache, sample, classes.names.length).finally(() => cache.closeAll());
      const views = cloudViews(cloud.points);
      const out = resolve(opts.out);
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
        split: opts.split,
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
      console.log(
        `cloud ${sample.id} (${summary.class}): wrote view-0..${perView.length - 1}.png, views.npy, views.json into ${out}`,
      );
      for (const p of perView) {
        console.log(
          `  view ${p.view}: ${p.points_kept} points kept, ${p.occupied_pixels} pixels occupied, foreground ${p.foreground_box ? `[${p.foreground_box.join(', ')}]` : 'none'}`,
        );
      }
    });
}
