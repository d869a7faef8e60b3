import { UserError } from '../util/errors.js';

/** The paper's splits per dataset (Table 1's columns). */
export const DEFAULT_SPLITS: Record<string, string[]> = {
  refcoco: ['testA', 'testB', 'val'],
  'refcoco+': ['testA', 'testB', 'val'],
  refcocog: ['test', 'val'],
  demo: ['val'],
};

/** The splits a command evaluates: the ones given, else the paper's; an unknown dataset needs them given. */
export function splitsFor(dataset: string, given: readonly string[] | undefined): string[] {
  const splits = given ?? DEFAULT_SPLITS[dataset];
  if (!splits) throw new UserError(`dataset ${dataset}: give --split (known datasets: ${Object.keys(DEFAULT_SPLITS).join(', ')})`);
  return [...splits];
}

/** What every table on a dataset must say about it. */
export function datasetFootnotes(dataset: string): string[] {
  return dataset === 'demo' ? ['The demo set is synthetic and the tiny model has random weights: these accuracies show the machinery only, not CLIP.'] : [];
}
