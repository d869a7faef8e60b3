import { createHash } from 'node:crypto';
import { UserError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { sampleIndices } from '../shared/sample-subset.js';

/** A caption of the split with the image it describes (for excluding same-image negatives). */
export interface BankCaption {
  text: string;
  image: string;
}

/**
 * Where subtraction's negative captions come from. 'split': any caption of the split, as FGVP's code
 * does (the positive itself may be drawn); 'other-images': captions of other images only, as the
 * FALIP paper's text says ("related to no instances on the image").
 */
export type NegativesFrom = 'split' | 'other-images';

export interface SubtractSpec {
  /** Negatives per sentence (Q = 500 in the reference). */
  count: number;
  from: NegativesFrom;
  seed: number;
}

export const SUBTRACT_DEFAULTS: SubtractSpec = { count: 500, from: 'split', seed: 0 };

/** A generator per sentence, so a sentence's negatives do not depend on which others are evaluated. */
function sentenceRng(seed: number, sentenceId: string): Rng {
  const h = createHash('sha256').update(`${seed}\0${sentenceId}`).digest();
  return new Rng(h.readUInt32LE(0));
}

/** Draws `count` distinct captions (all of them when the bank is smaller). */
export function sampleNegatives(
  bank: readonly BankCaption[],
  sentenceId: string,
  image: string,
  spec: SubtractSpec,
): string[] {
  const pool = spec.from === 'other-images' ? bank.filter((c) => c.image !== image) : bank;
  if (pool.length === 0)
    throw new UserError(
      `subtract: no negative captions for sentence ${sentenceId} (the split has no caption of another image)`,
    );
  return sampleIndices(pool.length, spec.count, sentenceRng(spec.seed, sentenceId)).map((i) => pool[i]!.text);
}
