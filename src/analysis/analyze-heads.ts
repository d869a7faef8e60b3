import type { OpenedEncoder } from '../encoder/open-encoder.js';
import { makeMethod } from '../prompts/method.js';
import type { Sampling } from '../tasks/task-definition.js';
import { UserError } from '../util/errors.js';
import { datasetBoxSamples, defaultSplit, type BoxSamples } from './box-samples.js';
import { headSensitivity, type HeadSensitivityRow } from './head-sensitivity.js';
import { headsCsv, headsFigure } from './heads-output.js';

export interface AnalyzeHeadsRequest {
  dataset: string;
  /** Default: the dataset's first paper split. */
  split?: string;
  sampling: Sampling;
  /** The visual prompt compared with the original image, with its raw parameters. */
  prompt: { name: string; params: Record<string, unknown> };
  /** Opens the encoder, once the dataset has boxes to analyse. */
  open(): Promise<OpenedEncoder>;
  /** Progress sink: a label, total units and their name announced once, then increments. */
  progress(label: string, total: number, unit: string): { add(n: number): void; stop(): void };
}

/** heads.json. */
export interface HeadsReport {
  dataset: string;
  split: string;
  task: BoxSamples['task'];
  prompt: { name: string; params: Record<string, unknown> };
  model: { name: string; sha256: string };
  samples: { boxes: number; total: number; used: number };
  sampling: { limit: number | null; sample_seed: number };
  heads: HeadSensitivityRow[];
}

export interface AnalyzeHeadsResult {
  report: HeadsReport;
  /** What the dataset's samples are: REC refs or classification images. */
  sampleUnit: string;
  /** The files of `--out`, name → content: heads.csv, heads.json and the heatmaps heads.svg/.png. */
  files(): Promise<[string, string | Uint8Array][]>;
}

/** `falip analyze heads`: the heads a prompt changes most over a dataset's boxes (see headSensitivity). */
export async function analyzeHeads(r: AnalyzeHeadsRequest): Promise<AnalyzeHeadsResult> {
  const split = r.split ?? defaultSplit(r.dataset);
  const data = await datasetBoxSamples(r.dataset, split, r.sampling);
  if (data.samples.length === 0) throw new UserError(`dataset ${r.dataset}/${split}: no boxes to analyse`);
  const { encoder, model } = await r.open();
  const v = encoder.config.vision;
  const method = makeMethod(r.prompt.name, r.prompt.params, v, '--prompt');
  const bar = r.progress(`heads ${r.dataset}/${split}`, data.samples.length, 'boxes');
  const rows = await headSensitivity(encoder, data.samples, method, () => bar.add(1)).finally(() => bar.stop());
  const report: HeadsReport = {
    dataset: r.dataset,
    split,
    task: data.task,
    prompt: { name: method.name, params: method.params },
    model: { name: model.name, sha256: model.sha256 },
    samples: { boxes: data.samples.length, ...data.counts },
    sampling: { limit: r.sampling.limit ?? null, sample_seed: r.sampling.seed },
    heads: rows,
  };
  const title = `${method.name} vs original on ${r.dataset}/${split} (${data.samples.length} boxes, ${model.name})`;
  return {
    report,
    sampleUnit: data.sampleUnit,
    files: async () => {
      const figure = await headsFigure(rows, v, title);
      return [
        ['heads.csv', headsCsv(rows)],
        ['heads.json', `${JSON.stringify(report, null, 2)}\n`],
        ['heads.svg', figure.svg],
        ['heads.png', figure.png],
      ];
    },
  };
}
