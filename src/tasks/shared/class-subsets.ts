/**
 * Base-to-new generalisation (CoCoOp's protocol, every later prompt-learning paper's): the label set
 * sorted, the first ⌈n/2⌉ classes are the base classes, the rest the new ones; each half is relabelled
 * 0..k−1 and evaluated on the test split's images of its classes against its own classes only (Dassl's
 * `subsample_classes`). The half a table column reads is part of its records' split key, so the two
 * halves of one split are two sets of records: `oxford_pets/test/base`, `oxford_pets/test/new`.
 */

/** A column's classes: all of them (the default), or one half. */
export const CLASS_SUBSETS = ['all', 'base', 'new'] as const;
export type ClassSubset = (typeof CLASS_SUBSETS)[number];

/** The labels [from, to) of a half of n classes (labels 0..n−1, sorted). */
export function subsetLabels(n: number, subset: ClassSubset): { from: number; to: number } {
  const base = Math.ceil(n / 2);
  if (subset === 'base') return { from: 0, to: base };
  if (subset === 'new') return { from: base, to: n };
  return { from: 0, to: n };
}

/**
 * The items of one half relabelled 0..k−1 (`label − from`), in their order; the items of the other
 * half are left out. `n` is the number of classes, as Dassl counts the labels of the training split
 * (CoOp's split files have every class in it).
 */
export function subsetItems<T extends { label: number }>(items: readonly T[], n: number, subset: ClassSubset): T[] {
  const { from, to } = subsetLabels(n, subset);
  return items.filter((s) => s.label >= from && s.label < to).map((s) => ({ ...s, label: s.label - from }));
}

/** The records' split of a dataset split's half: `dataset/split` for all classes, `dataset/split/base` for one half. */
export function subsetSplitKey(split: string, subset: ClassSubset): string {
  return subset === 'all' ? split : `${split}/${subset}`;
}

/** The half a records' split names (`oxford_pets/test/new` → new). */
export function subsetOfSplitKey(key: string): ClassSubset {
  const third = key.split('/')[2];
  return third === 'base' || third === 'new' ? third : 'all';
}
