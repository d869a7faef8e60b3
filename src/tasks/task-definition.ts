import type { z } from 'zod';
import type { CheckReport } from '../datasets/check-report.js';
import type { DatasetPin } from '../datasets/dataset-pin.js';
import type { DatasetInfo } from '../datasets/dataset-info.js';
import type { DatasetImporter } from '../datasets/importer.js';
import type { BoxXYWH } from '../image/box.js';
import type { Preprocessing } from '../image/input-view.js';
import type { Encoder } from '../encoder/encoder.js';
import type { PromptMask, TextPromptInputs, VisionPromptInputs } from '../encoder/requests.js';
import type { FeatureCache } from '../encoder/feature-cache.js';
import type { Method } from '../prompts/method.js';
import type { ExampleCard, ReportExamples } from '../report/html-report-model.js';
import type { Metric } from '../report/metrics.js';
import type { EvalRecord, IntermediateLog, RecordLog } from '../report/records.js';
import type { ClassSubset } from './shared/class-subsets.js';
import type { TextFeatures } from './shared/text-features.js';

/** A dataset a task knows by name: the paper's splits and how tables show it. */
export interface TaskDataset {
  /** Evaluated when `--split` is not given (the paper's). */
  splits: string[];
  /** As the paper's tables name it, e.g. "RefCOCO+". */
  label: string;
  /** What every table on it must say (the demo sets are synthetic). */
  footnotes?: string[];
  /** The paper's size of each split, in the task's sample unit (REC: refs), so a partial run says so. */
  paperSamples?: Record<string, number>;
  /** The command that imports a split, for the "not imported" error. */
  importCommand: (split: string) => string;
  /** A synthetic set falip generates (`falip data <name>`, and on first use). */
  generate?: DatasetGenerator;
  /** `falip eval`'s methods when `--method` is not given, if not the task's. */
  defaultMethods?: readonly string[];
  /** `falip eval`'s metric columns per split, if not the task's. */
  evalMetrics?: readonly string[];
  /**
   * How its images become the model's input (image/input-view.ts): the prompt-learning datasets are
   * centre-cropped as their papers do; default `squash`, the FALIP/ReCLIP reference's whole-image resize.
   */
  preprocess?: Preprocessing;
}

/** A generated dataset: `falip data <name> --images N --seed S` writes it; eval writes the default one on first use. */
export interface DatasetGenerator {
  /** One line for `--help`. */
  summary: string;
  defaultImages: number;
  /** Writes the set (same options, same bytes) under `outRoot` (default: the datasets folder). */
  write(
    outRoot: string | undefined,
    opts: { images: number; seed: number },
  ): Promise<{ dir: string; info: DatasetInfo }>;
  /** Writes the default set when it is not there yet. */
  ensure(): Promise<void>;
}

/** `--limit`: a seeded random subset of the split's samples (refs, images, clouds), never the first N. */
export interface Sampling {
  limit?: number;
  seed: number;
  /** `--shard K/N`: this process evaluates the sampled items whose id hashes to `index` of `count`. */
  shard?: { index: number; count: number };
}

/** What else a split is loaded for besides its sampling: the model's input size, and which classes. */
export interface SplitView {
  /** The model's input size S (a centre crop is S×S). */
  imageSize: number;
  /** Base-to-new: one half of the classes (tasks with `classSubsets`), relabelled 0..k−1. */
  classes: ClassSubset;
}

/** One dataset split loaded for evaluation. */
export interface LoadedSplit<D = unknown> {
  /** `dataset/split` (`dataset/split/base` for a half of its classes): its records' `split`. */
  key: string;
  dir: string;
  /** The record ids one row produces here: a resumed run holds no other. */
  itemIds: ReadonlySet<string>;
  /** Progress units per row (the sampled samples). */
  units: number;
  /** sha256 over what decides the numbers: the manifest's bytes, the class names, the images' names and sizes. */
  contentHash: string;
  /** That hash pinned to the files it came from: evaluation verifies it before each append and at the end. */
  pin: DatasetPin;
  /** Samples in the split, and in the run (`--limit`'s subset, before any `--shard`). */
  samples: { total: number; evaluated: number };
  data: D;
}

/**
 * A prompt-tuned CLIP's learned prompts, as a row runs them: the class texts are the prompt set's
 * ("X … X <class name>." with the learned context) and the images carry its vision prompts, if any.
 */
export interface RowPrompts {
  /** The registered set's name. */
  name: string;
  text: TextPromptInputs;
  vision?: VisionPromptInputs;
  /** What the run key holds of them (run-json.ts checks its form). */
  identity: {
    name: string;
    trainer: string;
    /** sha256 of the checkpoint and of the registered tensors. */
    checkpoint: string;
    tensors: string;
    mask?: PromptMask;
  };
}

/** One table row for a task: methods whose scores are summed (one = no ensemble), and the task's options. */
export interface TaskRow<O> {
  key: string;
  methods: Method[];
  options: O;
  /** Learned prompts the row runs with (tasks with `learnedPrompts` only); absent: the base CLIP. */
  prompts?: RowPrompts;
}

/** Where an evaluation finds what is recorded and records what it computes (progress counts the appends). */
export type RecordSink = Pick<RecordLog, 'has' | 'append'>;

/** Where a row that writes its records at the end keeps each item's results meanwhile (progress counts them). */
export type IntermediateSink = Pick<IntermediateLog, 'has' | 'get' | 'append' | 'path'>;

export interface EvalContext {
  encoder: Encoder;
  texts: TextFeatures;
  records: RecordSink;
  /**
   * Per-item results of rows that write their records only once every item is done (the β search),
   * kept as they come so that a killed run loses none.
   */
  intermediate: IntermediateSink;
  /** The on-disk feature cache (`--cache DIR`). */
  cache?: FeatureCache;
}

/** One region of one image that an analysis prompts: a REC ref's target, a classification image's box. */
export interface BoxSample {
  /** The ref or image id (a ref with several targets: `<id>#<k>`). */
  id: string;
  /** Absolute image path. */
  image: string;
  /** The image's size as the manifest records it (the box's coordinate system). */
  width: number;
  height: number;
  box: BoxXYWH;
  /** Absolute path of the image's foreground mask, where the dataset was imported with masks. */
  mask?: string;
}

/** A split's image regions under a seeded subset of its samples, and how many samples the subset kept. */
export interface BoxSamples {
  samples: BoxSample[];
  counts: { total: number; used: number };
  /** How the split's images become the model's input (default squash). */
  preprocess?: Preprocessing;
}

/** A record's example card, less what the record itself says (row, split, id, correct). */
export type CardContent = Omit<ExampleCard, 'row' | 'split' | 'id' | 'correct'>;

/** How the HTML report draws a task's records (its example cards). */
export interface ExampleHooks<O> {
  legend: ReportExamples['legend'];
  /**
   * Reads a split once; the card of a record (null: no item has its id), drawn for its row's options as
   * run.json recorded them (absent in folders of older runs).
   */
  cards(dir: string): Promise<(record: EvalRecord, options: O | undefined) => CardContent | null>;
}

/** A flag of `falip eval` that only this task reads. */
export interface TaskFlag {
  flags: string;
  help: string;
  defaultValue?: string;
  choices?: readonly string[];
}

/**
 * One evaluation task (REC, classification, 3D): everything the generic table, eval and sweep machinery
 * needs to know about it. Looked up by name in the registry; a dataset names its task in dataset.json.
 */
export interface TaskDefinition<O = unknown, D = unknown> {
  /** dataset.json's `task`, and a table config's. */
  name: string;
  /** How headings name the task: "REC on demo", "classification on cub". */
  title: string;
  /** What `--limit` samples, for help and footnotes (REC: refs). */
  sampleUnit: string;
  /** What one record is, as progress counts them (REC: sentences). */
  recordUnit: string;
  datasets: Record<string, TaskDataset>;
  /** `falip eval`'s methods when `--method` is not given. */
  defaultMethods: readonly string[];
  /** The task's fields of a table row (REC: setting, subtract), defaults filled. */
  rowOptions: z.ZodType<O>;
  /** Flags of `falip eval` and `falip sweep` this task reads, and the row options they give. */
  flags: readonly TaskFlag[];
  rowOptionsFromFlags(flags: Record<string, unknown>): Record<string, unknown>;
  /** A row's options as a key suffix, a label suffix and a title phrase, e.g. `gold-p`, `gold (P)`, `gold boxes, subtract`. */
  describeOptions(options: O): { key: string; label: string; title: string };
  /** Every `falip data import <name>` of this task's datasets. */
  importers: readonly DatasetImporter[];
  /** `falip data check`: what evaluation would refuse (missing or undecodable files, sizes, boxes, labels). */
  check(dir: string): Promise<CheckReport>;
  /** `falip analyze heads`: the image regions of a split (absent: the task has none to prompt). */
  boxSamples?(dir: string, info: DatasetInfo, sampling: Sampling): Promise<BoxSamples>;
  /** The HTML report's example cards (absent: the report shows none). */
  examples?: ExampleHooks<O>;
  /** `falip sweep` draws the paper's α/σ curves (Tables 10 and 11 are REC's). */
  paperSweepCurves?: boolean;
  /**
   * Rows may run a prompt-tuned CLIP's learned prompts (`TaskRow.prompts`): tasks that score images
   * against one text per class, which the prompts replace.
   */
  learnedPrompts?: boolean;
  /** Columns may read one half of a split's classes (`classes: base|new`, base-to-new generalisation). */
  classSubsets?: boolean;
  metrics: Record<string, Metric>;
  defaultMetric: string;
  /** `falip eval`'s metric columns per split. */
  evalMetrics: readonly string[];
  /** The paper's table configs holding this task's rows, for `falip eval`'s paper numbers. */
  paperConfigs: readonly string[];
  loadSplit(key: string, dir: string, info: DatasetInfo, sampling: Sampling, view: SplitView): Promise<LoadedSplit<D>>;
  /** Evaluates every row on one split, appending a record per item not yet recorded. */
  evaluate(rows: readonly TaskRow<O>[], split: LoadedSplit<D>, ctx: EvalContext): Promise<void>;
  /**
   * Every caption the rows can encode on the whole split (whatever `--limit` or `--shard`
   * picked), so that what tables say of the captions (how many are too long) is the same in every run.
   */
  captions(rows: readonly TaskRow<O>[], split: LoadedSplit<D>): Promise<string[]>;
  /** What the task's tables must say about these rows and splits (captions, templates, choices). */
  footnotes(rows: readonly TaskRow<O>[], splits: readonly LoadedSplit<D>[]): string[];
}

/** Any task: each has its own option and split-data types, which only its own functions see. */
// biome-ignore lint/suspicious/noExplicitAny: an existential type; `unknown` would make the task's own callbacks uncallable
export type AnyTask = TaskDefinition<any, any>;

/** Keeps a definition's option and split-data types. */
export function defineTask<O, D>(def: TaskDefinition<O, D>): TaskDefinition<O, D> {
  return def;
}
