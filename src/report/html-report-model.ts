import type { CellJson } from './run-files.js';

/** What `falip report` puts on its page, as plain data (the renderer turns it into one HTML file). */

/** One cell of the results table, as metrics.json holds it. */
export type ReportCell = CellJson;

export interface ReportTable {
  title: string;
  columns: { key: string; label: string; subset?: string }[];
  rows: { key: string; label: string; cells: ReportCell[] }[];
  footnotes: string[];
}

/** A sweep plot of the run, inlined. */
export interface ReportPlot {
  title: string;
  /** A data: URI (PNG, else SVG). */
  dataUri: string;
}

/**
 * What a drawn box is: the referred object(s) of a REC sentence, the predicted candidate, the other
 * candidates; a classification image's region.
 */
export type ExampleBoxKind = 'target' | 'pred' | 'candidate' | 'region';

export interface ExampleBox {
  kind: ExampleBoxKind;
  /** [x, y, w, h] as fractions of the image's width and height (the thumbnail's too). */
  box: [number, number, number, number];
}

/** One evaluated item of one row: its image, boxes, caption and outcome. */
export interface ExampleCard {
  row: string;
  /** The dataset split the record belongs to. */
  split: string;
  id: string;
  correct: boolean;
  /** Key into `ReportExamples.images`. */
  image: string;
  /** The REC sentence, or the classification image's true class. */
  caption: string;
  boxes: ExampleBox[];
  /** Further lines: the prediction, the top 5 classes ('mark' = the true class / the predicted box). */
  lines: { text: string; mark?: boolean }[];
}

export interface ReportExamples {
  rows: { key: string; label: string }[];
  /** Items drawn per row (a seeded sample of its records). */
  perRow: number;
  cards: ExampleCard[];
  /** Image key → thumbnail data: URI; shared by the cards of one image. */
  images: Record<string, string>;
  /** What each box colour means, for the legend. */
  legend: { kind: ExampleBoxKind; text: string }[];
}

export interface HtmlReportModel {
  title: string;
  /** Lines about the run (model, data, provenance). */
  about: string[];
  table: ReportTable | null;
  plots: ReportPlot[];
  /** Null with a reason when the run's data cannot be shown (not found, another task). */
  examples: ReportExamples | { missing: string };
}
