import { existsSync } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import sharp from 'sharp';
import { MANIFEST_FILE, readDatasetInfo, resolveImageRoot } from '../datasets/dataset-info.js';
import { datasetDir } from '../datasets/dataset-store.js';
import type { ExampleCard, ReportExamples } from '../report/html-report-model.js';
import type { EvalRecord } from '../report/records.js';
import type { RunJson } from '../experiments/run-json.js';
import { compareIds } from '../report/records.js';
import { TASKS } from '../tasks/registry.js';
import { subsetOfSplitKey } from '../tasks/shared/class-subsets.js';
import { seededSubset } from '../tasks/shared/sample-subset.js';
import type { CardContent } from '../tasks/task-definition.js';
import { UserError } from '../util/errors.js';

/** Longest side of the inlined thumbnails: enough to see the boxes, small enough for many cards. */
const THUMBNAIL = 256;
/** Thumbnails encoded at the same time. */
const CONCURRENCY = 4;
/** Seed of the per-row example sample (fixed: the same run always shows the same examples). */
const EXAMPLE_SEED = 0;

/** A dataset split's image folder and how to draw a record of it. */
interface SplitItems {
  imageRoot: string;
  cardOf: (record: EvalRecord, options: unknown) => CardContent | null;
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

/**
 * Example cards of a run: per row a seeded sample of `perRow` of its records (id order), each joined
 * with its dataset item (REC: the sentence, its image, the candidate, target and predicted boxes;
 * classification: the image, its box, the top 5 classes) and a thumbnail of its image, shared by the
 * cards of that image. The datasets are read from where the run's splits name them.
 */
export async function runExamples(
  run: RunJson,
  records: readonly EvalRecord[],
  rowLabels: ReadonlyMap<string, string>,
  perRow: number,
): Promise<ReportExamples | { missing: string }> {
  const { key } = run;
  const task = TASKS.find((t) => t.name === key.task);
  if (!task?.examples)
    return {
      missing: `examples are drawn for ${tasksWithExamples()} runs; this run's task is ${key.task || 'not recorded'}`,
    };
  const { examples } = task;
  const splits = new Map<string, SplitItems>();
  for (const { key: data, content } of key.splits) {
    const [name, split] = data.split('/') as [string, string];
    const dir = datasetDir(name, split);
    if (!existsSync(path.join(dir, MANIFEST_FILE)))
      return { missing: `dataset ${data} is not at ${dir} (FALIP_DATASETS), so its images cannot be shown` };
    const info = await readDatasetInfo(dir);
    // Cards join records with the dataset as it is now: after a re-import they would draw other images,
    // boxes or class names than the run scored. Only the run's own data may be shown.
    let missing: string | undefined;
    try {
      // The view the run loaded the split with: its model's input size and the half of the classes it read.
      const view = { imageSize: run.details.model.vision.imageSize, classes: subsetOfSplitKey(data) };
      const now = (await task.loadSplit(data, dir, info, { seed: key.sampling.sample_seed }, view)).contentHash;
      if (now !== content)
        missing = `dataset ${data} at ${dir} is not the data this run evaluated (content ${content.slice(0, 12)} in run.json, ${now.slice(0, 12)} now: re-imported since?), so no example is drawn from it`;
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      missing = `dataset ${data} at ${dir} cannot be read (${err.message}), so no example is drawn from it`;
    }
    if (missing) {
      process.stderr.write(`falip: ${missing}\n`);
      return { missing };
    }
    splits.set(data, { imageRoot: resolveImageRoot(dir, info), cardOf: await examples.cards(dir) });
  }
  const options = new Map(key.rows.map((r) => [r.key, r.options]));
  const rows = key.rows.map((r) => ({ key: r.key, label: rowLabels.get(r.key) ?? r.key }));
  const cards: ExampleCard[] = [];
  for (const row of rows) {
    const own = records.filter((r) => r.row === row.key).sort(compareIds);
    for (const record of seededSubset(own, perRow, EXAMPLE_SEED)) {
      const items = splits.get(record.split);
      const card = items?.cardOf(record, options.get(row.key));
      if (card)
        cards.push({
          row: row.key,
          split: record.split,
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
    legend: examples.legend,
  };
}

function tasksWithExamples(): string {
  return TASKS.filter((t) => t.examples)
    .map((t) => t.title)
    .join(' and ');
}
