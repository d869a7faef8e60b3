import type { DatasetImporter } from './importer.js';
import { reclipImporters } from './reclip-import.js';

/** Every `falip data import <name>`: one entry per source format (a new dataset adds its importer here). */
export const IMPORTERS: readonly DatasetImporter[] = [...reclipImporters];

export function findImporter(name: string): DatasetImporter | undefined {
  return IMPORTERS.find((i) => i.name === name);
}
