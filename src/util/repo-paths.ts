import path from 'node:path';

/** The checkout's root: models/, datasets/ and results/ live beside src/ unless overridden. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Parent of the default results folders: `results/` of the working directory, where a researcher runs
 * falip from and looks for what it wrote; FALIP_RESULTS overrides it.
 */
export function resultsRoot(): string {
  return path.resolve(process.env.FALIP_RESULTS || 'results');
}

/** Folder of registered models and built graphs (git-ignored); FALIP_MODELS overrides it. */
export function modelsRoot(): string {
  return process.env.FALIP_MODELS ?? path.join(REPO_ROOT, 'models');
}
