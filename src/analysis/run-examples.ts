import { existsSync } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { readClasses, readClsManifest, type ClsSample } from '../datasets/classification/cls-manifest.js';
import { MANIFEST_FILE, readDatasetInfo, resolveImageRoot } from '../datasets/dataset-info.js';
import { datasetDir } from '../datasets/dataset-store.js';
import { readRecManifest, targetsOf, type RecSample } from '../datasets/rec-manifest.js';
import type { BoxXYWH } from '../image/box.js';
import type { ExampleBox, ExampleCard, ReportExamples } from '../report/html-report-model.js';
import type { EvalRecord } from '../report/records.js';
import type { RunJson } from '../report/run-folder.js';
import { compareIds } from '../report/records.js';
import { seededSubset } from '../tasks/sample-subset.js';
import { UserError } from '../util/errors.js';

/** Longest side of the inlined thumbnails: enough to see the boxes, small enough for many cards. */
const THUMBNAIL = 256;
/** Thumbnails encoded at the same time. */
const CONCURRENCY = 4;
/** Seed of the per-row example sample (fixed: the same run always shows the same examples). */
const EXAMPLE_SEED = 0;

/** What run.json's key says about the rows (a falip table run's key; see run-table.ts). */
interface RunKey {
  task?: string;
  rows?: { key: string; options?: { setting?: 'gold' | 'prop' } }[];
  columns?: { key: string }[];
}

/** A dataset split's items by record id, each with its image and how to draw a record of it. */
interface ColumnItems {
  imageRoot: string;
  /** Record id → the card of a record of it, minus the record's own fields. */
  cardOf: (
    record: EvalRecord,
    setting: 'gold' | 'prop',
  ) => Omit<ExampleCard, 'row' | 'column' | 'id' | 'correct'> | null;
}

function fractions(b: BoxXYWH, width: number, height: number): ExampleBox['box'] {
  return [b[0] / width, b[1] / height, b[2] / width, b[3] / height];
}

async function recItems(dir: string, imageRoot: string): Promise<ColumnItems> {
  const bySentence = new Map<string, { sample: RecSample; text: string }>();
  for (const sample of await readRecManifest(path.join(dir, MANIFEST_FILE)))
    for (const s of sample.sentences) bySentence.set(s.id, { sample, text: s.text });
  return {
    imageRoot,
    cardOf(record, setting) {
      const found = bySentence.get(record.id);
      if (!found) return null;
      const { sample, text } = found;
      const candidates = setting === 'prop' ? (sample.proposals ?? []) : sample.gold.map((g) => g.box);
      const pred = candidates[record.pred];
      const f = (b: BoxXYWH) => fractions(b, sample.width, sample.height);
      const boxes: ExampleBox[] = [
        ...candidates.filter((_, i) => i !== record.pred).map((b) => ({ kind: 'candidate' as const, box: f(b) })),
        ...targetsOf(sample).map((g) => ({ kind: 'target' as const, box: f(g.box) })),
        ...(pred ? [{ kind: 'pred' as const, box: f(pred) }] : []),
      ];
      const score = record.scores?.[record.pred];
      return {
        image: sample.image,
        caption: text,
        boxes,
        lines: [
          {
            text: `predicted ${setting} box ${record.pred + 1} of ${candidates.length}${typeof score === 'number' ? ` (score ${score.toFixed(2)})` : ''}`,
          },
        ],
      };
    },
  };
}

async function clsItems(dir: string, imageRoot: string): Promise<ColumnItems> {
  const [samples, classes] = await Promise.all([readClsManifest(path.join(dir, MANIFEST_FILE)), readClasses(dir)]);
  const byId = new Map<string, ClsSample>(samples.map((s) => [s.id, s]));
  const name = (c: number) => classes.names[c] ?? `class ${c}`;
  return {
    imageRoot,
    cardOf(record) {
      const sample = byId.get(record.id);
      if (!sample) return null;
      const top5 = Array.isArray(record.top5) ? (record.top5 as number[]) : [record.pred];
      return {
        image: sample.image,
        caption: `true class: ${name(sample.label)}`,
        boxes: [{ kind: 'region', box: fractions(sample.box, sample.width, sample.height) }],
        lines: top5.map((c, k) => ({ text: `${k + 1}. ${name(c)}`, mark: c === sample.label })),
      };
    },
  };
}

async function thumbnail(file: string): Promise<string> {
  try {
    const jpeg = await sharp(file)
      .resize(THUMBNAIL, THUMBNAIL, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 80 })
      .toBuffer();
    return `data:image/jpeg;base64,${jpeg.toString('base64')}`;
  } catch (e) {
    throw new UserError(`${file}: cannot make a thumbnail (${(e as Error).message.split('\n')[0]})`);
  }
}

const LEGENDS: Record<string, ReportExamples['legend']> = {
  rec: [
    { kind: 'target', text: 'referred object (gold target)' },
    { kind: 'pred', text: 'predicted box' },
    { kind: 'candidate', text: 'other candidate boxes' },
  ],
  classification: [{ kind: 'region', text: 'the box the method marks' }],
};

/**
 * Example cards of a run: per row a seeded sample of `perRow` of its records (id order), each joined
 * with its dataset item (REC: the sentence, its image, the candidate, target and predicted boxes;
 * classification: the image, its box, the top 5 classes) and a thumbnail of its image, shared by the
 * cards of that image. The datasets are read from where the run's columns name them.
 */
export async function runExamples(
  run: RunJson,
  records: readonly EvalRecord[],
  rowLabels: ReadonlyMap<string, string>,
  perRow: number,
): Promise<ReportExamples | { missing: string }> {
  const key = run.key as RunKey;
  const task = key.task ?? '';
  if (!(task in LEGENDS))
    return {
      missing: `examples are drawn for REC and classification runs; this run's task is ${task || 'not recorded'}`,
    };
  const columns = new Map<string, ColumnItems>();
  for (const { key: column } of key.columns ?? []) {
    const [name, split] = column.split('/') as [string, string];
    const dir = datasetDir(name, split);
    if (!existsSync(path.join(dir, MANIFEST_FILE)))
      return { missing: `dataset ${column} is not at ${dir} (FALIP_DATASETS), so its images cannot be shown` };
    const imageRoot = resolveImageRoot(dir, await readDatasetInfo(dir));
    columns.set(column, task === 'rec' ? await recItems(dir, imageRoot) : await clsItems(dir, imageRoot));
  }
  const settings = new Map((key.rows ?? []).map((r) => [r.key, r.options?.setting ?? 'gold']));
  const rows = (key.rows ?? []).map((r) => ({ key: r.key, label: rowLabels.get(r.key) ?? r.key }));
  const cards: ExampleCard[] = [];
  for (const row of rows) {
    const own = records.filter((r) => r.row === row.key).sort(compareIds);
    for (const record of seededSubset(own, perRow, EXAMPLE_SEED)) {
      const items = columns.get(record.column);
      const card = items?.cardOf(record, settings.get(row.key)!);
      if (card)
        cards.push({
          row: row.key,
          column: record.column,
          id: record.id,
          correct: record.correct,
          ...card,
          image: path.resolve(items!.imageRoot, card.image),
        });
    }
  }
  const files = [...new Set(cards.map((c) => c.image))];
  const keyOf = new Map(files.map((f, i) => [f, `i${i}`]));
  const limit = pLimit(CONCURRENCY);
  const uris = await Promise.all(files.map((f) => limit(() => thumbnail(f))));
  return {
    rows,
    perRow,
    cards: cards.map((c) => ({ ...c, image: keyOf.get(c.image)! })),
    images: Object.fromEntries(files.map((f, i) => [keyOf.get(f)!, uris[i]!])),
    legend: LEGENDS[task]!,
  };
}
