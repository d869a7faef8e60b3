import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CLIP_INPUT_SIZE } from '../tasks/pointcloud/depth-views.js';
import { PREVIEW_FAR, PREVIEW_NEAR } from '../tasks/pointcloud/depth-preview.js';
import { POINTCLOUD_SPLIT } from '../tasks/pointcloud/importers/pc-import.js';
import { isViewsFolder, writeCloudViews } from '../tasks/pointcloud/view-files.js';
import { UserError } from '../util/errors.js';
import { withFsErrors } from '../util/fs-errors.js';
import { checkOwnFolder } from '../util/output-target.js';

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
      const out = resolve(opts.out);
      await checkOwnFolder(out, '--out', 'a folder of falip data views files', (names) => isViewsFolder(out, names));
      const { summary, sample, perView } = await withFsErrors(() =>
        writeCloudViews(name, opts.split, Number(opts.index), out),
      );
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
