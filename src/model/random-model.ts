import { withFsErrors } from '../util/fs-errors.js';
import { archConfig, type ArchName, type ClipConfig } from './clip-config.js';
import { byteLevelVocab, clipVocabFromBpeGz, vocabFiles } from './bpe-vocab.js';
import { RANDOM_WEIGHTS_KEY } from './model-identity.js';
import { randomWeights, writeModelFolder } from './random-weights.js';

export interface RandomModelOptions {
  arch: ArchName;
  seed: number;
  out: string;
  /** CLIP's bpe_simple_vocab_16e6.txt.gz; without it a byte-level vocabulary (no merges) is written. */
  bpe?: string;
}

/**
 * Writes a complete Hugging Face CLIP folder with deterministic random weights (same seed, same bytes).
 * Every file goes through a per-process temporary name, so two processes writing the same folder at
 * once (two first runs generating the tiny model) each leave it complete.
 */
export function writeRandomModel(opts: RandomModelOptions): Promise<ClipConfig> {
  return withFsErrors(async () => {
    const vocab = opts.bpe ? await clipVocabFromBpeGz(opts.bpe) : byteLevelVocab();
    const config = archConfig(opts.arch, Object.keys(vocab.vocab).length);
    await writeModelFolder(opts.out, config, randomWeights(config, opts.seed), vocabFiles(vocab), {
      [RANDOM_WEIGHTS_KEY]: `falip model random --arch ${opts.arch} --seed ${opts.seed}`,
    });
    return config;
  });
}
