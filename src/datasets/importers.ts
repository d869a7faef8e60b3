import { cubImporter } from './classification/cub-import.js';
import { imageNetSImporter } from './classification/imagenet-s-import.js';
import { stanfordDogsImporter } from './classification/stanforddogs-import.js';
import { waterbirdsImporter } from './classification/waterbirds-import.js';
import type { DatasetImporter } from './importer.js';
import { modelnet40Importer } from './pointcloud/modelnet40-import.js';
import { scanobjectnnImporter } from './pointcloud/scanobjectnn-import.js';
import { reclipImporters } from './reclip-import.js';

/** Every `falip data import <name>`: one entry per source format (a new dataset adds its importer here). */
export const IMPORTERS: readonly DatasetImporter[] = [
  ...reclipImporters,
  cubImporter,
  stanfordDogsImporter,
  imageNetSImporter,
  waterbirdsImporter,
  modelnet40Importer,
  scanobjectnnImporter,
];
