import { canonicalJson } from '../util/canonical-json.js';
import { sha256Hex } from '../util/sha256.js';
import { ARCH_NAMES, archConfig, type ClipConfig } from './clip-config.js';

/**
 * What a model's numbers depend on: its weights and the configuration they are read with. Two configs
 * over the same weights (say 6 of 12 layers) compute different embeddings, so results, feature
 * caches and built graphs are keyed by both hashes, never by the weights alone.
 */
export interface ModelIdentity {
  /** Hex SHA-256 of model.safetensors. */
  sha256: string;
  /** Hex SHA-256 of the parsed ClipConfig's canonical JSON (see `configHash`). */
  configHash: string;
  /** `vit-b-16`, `vit-l-14`, `tiny` when the dimensions are those of a known arch, else e.g. `ViT 6x768/16@224, text 12x512`. */
  arch: string;
}

/** Hex SHA-256 of a value's canonical JSON. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/**
 * Hashes the parsed config, not config.json's bytes: whitespace, key order and fields falip does not
 * read change nothing that is computed, so they must not change the identity either.
 */
export function configHash(config: ClipConfig): string {
  return canonicalHash(config);
}

/** The architecture's dimensions, leaving out the vocabulary (set by the tokenizer files, not the arch). */
function archShape(c: ClipConfig): unknown {
  const { vocabSize: _vocab, ...text } = c.text;
  return { vision: c.vision, text, projectionDim: c.projectionDim, hiddenAct: c.hiddenAct };
}

function archLabel(c: ClipConfig): string {
  const shape = canonicalJson(archShape(c));
  const known = ARCH_NAMES.find((name) => canonicalJson(archShape(archConfig(name, c.text.vocabSize))) === shape);
  if (known) return known;
  const v = c.vision;
  return `ViT ${v.numLayers}x${v.hiddenSize}/${v.patchSize}@${v.imageSize}, text ${c.text.numLayers}x${c.text.hiddenSize}`;
}

export function modelIdentity(sha256: string, config: ClipConfig): ModelIdentity {
  return { sha256, configHash: configHash(config), arch: archLabel(config) };
}
