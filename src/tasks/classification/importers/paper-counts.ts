/** The classification datasets whose size the FALIP paper states (Table 8, appendix 5.0.3). */
export type PaperDataset = 'stanforddogs' | 'cub' | 'imagenet-s' | 'waterbirds';

interface PaperCount {
  images: number;
  classes: number;
  /** What the paper counted, when it is not simply "the release". */
  remark?: string;
}

export const PAPER_TABLE8: Readonly<Record<PaperDataset, PaperCount>> = {
  stanforddogs: { images: 20_580, classes: 120 },
  cub: { images: 11_788, classes: 200 },
  'imagenet-s': { images: 12_419, classes: 919, remark: 'the validation set' },
  waterbirds: {
    images: 5_794,
    classes: 2,
    remark: "the test split; Table 8 itself prints 20,580, evidently a copy of StanfordDogs' count",
  },
};

/** One note line: does what was imported match the paper's count? */
export function table8Note(dataset: PaperDataset, counts: { images: number; classes: number }): string {
  const paper = PAPER_TABLE8[dataset];
  const shown = (c: { images: number; classes: number }): string =>
    `${c.images.toLocaleString('en-US')} images, ${c.classes} classes`;
  if (counts.images === paper.images && counts.classes === paper.classes) {
    return `${shown(counts)}: matches the paper's Table 8${paper.remark ? ` (${paper.remark})` : ''}`;
  }
  return `${shown(counts)}: differs from the paper's Table 8 (${shown(paper)}${paper.remark ? `, ${paper.remark}` : ''})`;
}
