import path from 'node:path';
import { importDataset, writeDatasetFolder } from '../../../src/datasets/dataset-store.js';
import { readImageSize } from '../../../src/datasets/image-headers.js';
import type { DatasetImporter } from '../../../src/datasets/importer.js';
import { fileSource } from '../../../src/datasets/source-files.js';
import { UserError } from '../../../src/util/errors.js';
import { readNonBlankLines } from '../../../src/util/text-file.js';
import { COLOURS, type Swatch } from './swatch-manifest.js';

/** `falip data import swatches --root DIR`: DIR/labels.txt holds `<image> <colour>` lines. */
export const swatchImporter: DatasetImporter = {
  name: 'swatches',
  summary: 'import flat colour swatches (labels.txt: "<image> <colour>" lines) into <datasets>/swatches/all/',
  options: [{ flags: '--root <dir>', help: 'the folder holding labels.txt and the images', required: true }],
  run: (options, outRoot) =>
    importDataset('swatches', 'all', outRoot, async ({ dir, staging }) => {
      const root = path.resolve(options.root!);
      const list = path.join(root, 'labels.txt');
      const samples: Swatch[] = [];
      for (const { text, where } of await readNonBlankLines(list)) {
        const [image, colour] = text.trim().split(/\s+/);
        const label = COLOURS.indexOf(colour ?? '');
        if (!image || label < 0) throw new UserError(`${where}: colour: expected one of ${COLOURS.join(', ')}`);
        const { width, height } = await readImageSize(path.join(root, image), where, 'image');
        samples.push({ id: image, image, width, height, label });
      }
      const info = {
        name: 'swatches',
        split: 'all',
        task: 'swatch-colours',
        image_root: root,
        sources: [await fileSource(list)],
        counts: { images: samples.length },
        created_by: 'falip data import swatches',
      };
      await writeDatasetFolder(staging, samples, info);
      return { dir, info, notes: [], warnings: [] };
    }),
};
