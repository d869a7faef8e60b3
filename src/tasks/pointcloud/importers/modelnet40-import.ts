/** `falip data import modelnet40`: PointNet's HDF5 release of ModelNet40 (`modelnet40_ply_hdf5_2048`), test files. */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../../../util/errors.js';
import type { DatasetImporter, ImportReport } from '../../../datasets/importer.js';
import { importClouds } from './pc-import.js';
import { listedH5Files, readClassNames } from './release-lists.js';

const CLASS_COUNT = 40;
/** FALIP's Table 9: the ModelNet40 test split. */
export const MODELNET40_PAPER_CLOUDS = 2468;

export interface ModelNet40ImportOptions {
  /** The unzipped `modelnet40_ply_hdf5_2048` folder. */
  root: string;
  outRoot?: string;
}

/** The clouds of every file `test_files.txt` lists, in list order, labelled by `shape_names.txt`. */
export async function importModelNet40(opts: ModelNet40ImportOptions): Promise<ImportReport> {
  const root = resolve(opts.root);
  if (!(await stat(root).catch(() => undefined))?.isDirectory())
    throw new UserError(`--root ${opts.root}: not a folder`);
  const list = join(root, 'test_files.txt');
  const namesFile = join(root, 'shape_names.txt');
  const files = await listedH5Files(list, root);
  const rawNames = await readClassNames(namesFile, CLASS_COUNT);
  return importClouds({
    name: 'modelnet40',
    files,
    rawNames,
    namesSource: `${namesFile} (label order; '_' read as a space in prompts)`,
    otherSources: [list, namesFile],
    sourceRoot: root,
    createdBy: 'falip data import modelnet40 (PointNet HDF5 release, test_files.txt)',
    paperCount: MODELNET40_PAPER_CLOUDS,
    outRoot: opts.outRoot,
  });
}

export const modelnet40Importer: DatasetImporter = {
  name: 'modelnet40',
  summary:
    "import the ModelNet40 test clouds from PointNet's HDF5 release (modelnet40_ply_hdf5_2048) into <datasets>/modelnet40/test/",
  options: [
    {
      flags: '--root <dir>',
      help: 'the unzipped modelnet40_ply_hdf5_2048 folder: test_files.txt, shape_names.txt and the ply_data_test*.h5 files it lists (read in place, never copied)',
      required: true,
    },
  ],
  run: (o, outRoot) => importModelNet40({ root: o.root!, outRoot }),
};
