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
  /**
   * How falip generated the weights when they are random (`falip model random --arch tiny --seed 3`), else
   * null: its numbers say nothing about CLIP, and no paper number stands beside them. Read from the
   * weights file itself, so a random model is known as such however it is named or passed.
   */
  randomWeights: string | null;
}

/** The safetensors metadata key falip marks its random weights with. */
export const RANDOM_WEIGHTS_KEY = 'falip_random_weights';

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

export function modelIdentity(
  sha256: string,
  config: ClipConfig,
  metadata: Record<string, string> = {},
): ModelIdentity {
  return {
    sha256,
    configHash: configHash(config),
    arch: archLabel(config),
    randomWeights: metadata[RANDOM_WEIGHTS_KEY] ?? null,
  };
}
