import path from 'node:path';

/** The checkout's root: models/, datasets/ and results/ live beside src/ unless overridden. */
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/** Parent of the default results folders (git-ignored); FALIP_RESULTS overrides it. */
export function resultsRoot(): string {
  return process.env.FALIP_RESULTS ?? path.join(REPO_ROOT, 'results');
}

/** Folder of registered models and built graphs (git-ignored); FALIP_MODELS overrides it. */
export function modelsRoot(): string {
  return process.env.FALIP_MODELS ?? path.join(REPO_ROOT, 'models');
}
