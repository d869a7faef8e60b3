import path from 'node:path';
import type { ClipConfig } from '../model/clip-config.js';
import { textPromptInputs } from '../model/graphs/prompted-text-graph.js';
import { PROMPT_MASKS, visionPromptInputs, type PromptMask } from '../model/graphs/vision-prompts.js';
import { NO_PROMPTS, type RegisteredPromptSet } from '../model/learned-prompts/prompt-registry.js';
import { NAME_PATTERN } from '../model/model-store.js';
import { learnedPromptText } from '../tasks/shared/text-classifier.js';
import type { AnyTask, RowPrompts, TaskRow } from '../tasks/task-definition.js';
import { UserError } from '../util/errors.js';
import type { RowConfig, RowPromptsKey, TableConfig } from './run-json.js';

/**
 * The rows of a table that run a prompt-tuned CLIP (a row's `prompts`): their registered prompt sets,
 * loaded once each for the model the table runs on, in the form the encoder takes, with what the run
 * key and the footnotes say of them.
 */

/** Stands, in a row's prompt set name, for the dataset of each column (`ivlp-{dataset}-s1`). */
export const DATASET_SLOT = '{dataset}';

/** The registered prompt sets of the run's model. */
export interface PromptSetSource {
  /** A UserError when the model has no set of that name. */
  read(name: string): Promise<RegisteredPromptSet>;
  has(name: string): boolean;
  /** The command that registers a set of this name. */
  importCommand(name: string): string;
}

/** A record row of a table row: the row itself, or with a list of prompt sets one per set (`<row>@<set>`). */
export interface RowMember {
  key: string;
  /** The set's name, `{dataset}` unresolved. */
  prompts?: string;
}

/** The rows whose records a table row reads (TableRowSpec.members): one per prompt set of its list, else itself. */
export function rowMembers(r: Pick<RowConfig, 'key' | 'prompts'>): RowMember[] {
  if (r.prompts === undefined) return [{ key: r.key }];
  if (typeof r.prompts === 'string') return [{ key: r.key, prompts: r.prompts }];
  return r.prompts.map((p) => ({ key: `${r.key}@${p.replaceAll(DATASET_SLOT, '*')}`, prompts: p }));
}

/** A row as it runs: its prompts where they are the same on every dataset, else per dataset. */
export interface PromptedRow<O> {
  row: TaskRow<O>;
  /** A set named with `{dataset}`: each imported dataset's set, null where the model has none of that name. */
  perDataset?: Map<string, RowPrompts | null>;
}

export interface PromptedRows<O> {
  rows: PromptedRow<O>[];
  footnotes: string[];
  /** Sets named with `{dataset}` that the model does not have: which table row, dataset and name. */
  missing: { row: string; dataset: string; set: string }[];
}

/** The rows a dataset is evaluated with: each with its prompt set there; a row without one there is left out. */
export function rowsOn<O>(rows: readonly PromptedRow<O>[], dataset: string): TaskRow<O>[] {
  return rows.flatMap(({ row, perDataset }) => {
    if (!perDataset) return [row];
    const prompts = perDataset.get(dataset);
    return prompts ? [{ ...row, prompts }] : [];
  });
}

/**
 * The rows with their prompts (rows naming none unchanged), for a run over `datasets` (the imported
 * ones). A set named with `{dataset}` is looked up per dataset, and one the model lacks leaves that row
 * out on that dataset (reported in `missing`): base-to-new trains a set per dataset, and a user may
 * have some of them only. A set named plainly must be registered.
 */
export async function withRowPrompts<O>(
  cfg: TableConfig,
  rows: TaskRow<O>[],
  config: ClipConfig,
  source: PromptSetSource | undefined,
  datasets: readonly string[],
): Promise<PromptedRows<O>> {
  const members = new Map(cfg.rows.flatMap((r) => rowMembers(r).map((m) => [m.key, { ...m, table: r }] as const)));
  if (![...members.values()].some((m) => m.prompts))
    return { rows: rows.map((row) => ({ row })), footnotes: [], missing: [] };
  if (!source) throw new Error(`${cfg.name}: rows name learned prompts but no prompt sets were given to read them`);
  const sets = new Map<string, Promise<RegisteredPromptSet>>();
  const setOf = (name: string) => {
    let s = sets.get(name);
    if (!s) {
      s = source.read(name);
      sets.set(name, s);
    }
    return s;
  };
  const out: PromptedRow<O>[] = [];
  const missing: PromptedRows<O>['missing'] = [];
  const masks = new Set<PromptMask>();
  const families = new Map<string, string[]>();
  for (const row of rows) {
    const m = members.get(row.key);
    if (!m?.prompts) {
      out.push({ row });
      continue;
    }
    const mask = m.table.prompt_mask ?? 'zero';
    const load = async (name: string): Promise<RowPrompts> => {
      const set = await setOf(name);
      const prompts = rowPrompts(set, config, mask);
      if (prompts.vision) {
        masks.add(mask);
        const ablation = row.methods.find((x) => x.ablation);
        if (ablation)
          throw new UserError(
            `${cfg.name}: row ${row.key}: ${ablation.name} is an ablation, which does not run on a prompt-tuned CLIP's images (prompts ${set.name} has vision prompts)`,
          );
      }
      return prompts;
    };
    if (!m.prompts.includes(DATASET_SLOT)) {
      out.push({ row: { ...row, prompts: await load(m.prompts) } });
      continue;
    }
    const perDataset = new Map<string, RowPrompts | null>();
    for (const dataset of datasets) {
      const name = m.prompts.replaceAll(DATASET_SLOT, dataset);
      if (source.has(name)) {
        perDataset.set(dataset, await load(name));
        // Several rows (with and without FALIP) read the same family: each set is described once.
        families.set(m.prompts, [...new Set([...(families.get(m.prompts) ?? []), name])]);
      } else {
        perDataset.set(dataset, null);
        missing.push({ row: m.table.key, dataset, set: name });
      }
    }
    out.push({ row, perDataset });
  }
  const loaded = new Map((await Promise.all([...sets.values()])).map((s) => [s.name, s]));
  const inFamily = new Set([...families.values()].flat());
  const footnotes = [
    ...[...loaded.values()].filter((s) => !inFamily.has(s.name)).map(describeSet),
    ...[...families].map(([template, names]) =>
      describeFamily(
        template,
        names.map((n) => loaded.get(n)!),
      ),
    ),
    ...[...masks].map(describeMask),
  ];
  return { rows: out, footnotes, missing };
}

/** A set's inputs; their keys (feature caches, batches, memos) hold its tensors' sha256 and the mask. */
function rowPrompts(set: RegisteredPromptSet, config: ClipConfig, mask: PromptMask): RowPrompts {
  const key = `${set.name}@${set.tensorsSha256.slice(0, 16)}`;
  const { prompts, info } = set;
  const identity: RowPromptsKey = {
    name: set.name,
    trainer: info.trainer,
    checkpoint: info.checkpoint.sha256,
    tensors: set.tensorsSha256,
    ...(prompts.vision && { mask }),
  };
  return {
    name: set.name,
    text: textPromptInputs(config.text, prompts, key),
    ...(prompts.vision && { vision: visionPromptInputs(config.vision, prompts.vision, `${key}/${mask}`, mask) }),
    identity,
  };
}

/** `layers 1..4` of deep prompts up to depth 5, or nothing below depth 2. */
const deepLayers = (depth: number, where: string) =>
  depth > 1 ? `, deep ${where} prompts before layers 1..${depth - 1}` : '';

function describeSet({ name, info }: RegisteredPromptSet): string {
  const c = info.checkpoint;
  const compared =
    info.frozenCompared > 0
      ? `its ${info.frozenCompared} frozen CLIP tensors equal this model's`
      : 'a prompt-only checkpoint: only its widths could be checked against this model';
  const text = learnedPromptText(info.nCtx, '<class name>');
  const context = info.classes === null ? 'context' : `class-specific context (${info.classes} classes)`;
  const vision = info.vision
    ? `${info.vision.nCtx} vision prompt tokens appended after the positional embedding${deepLayers(info.vision.depth, 'vision')}`
    : "no vision prompts (the images are the base CLIP's)";
  return `Prompts ${name}: ${info.trainer}, ${path.basename(c.path)} (sha256 ${c.sha256.slice(0, 12)}${c.epoch === null ? '' : `, epoch ${c.epoch}`}; ${compared}); class texts "${text}" with the learned ${context} in place of the X's (class names with _ as spaces, pooled at EOT; the dataset's template unused)${deepLayers(info.textDepth, 'text')}; ${vision}.`;
}

/** Sets named with `{dataset}`: the first described in full, the others by their checkpoints. */
function describeFamily(template: string, sets: readonly RegisteredPromptSet[]): string {
  const [first, ...rest] = sets;
  if (!first) return '';
  const others = rest.map(
    (s) => `${s.name} ${path.basename(s.info.checkpoint.path)} (sha256 ${s.info.checkpoint.sha256.slice(0, 12)})`,
  );
  return `Prompts ${template}, one set per dataset: ${describeSet(first).replace(/^Prompts /, '')}${others.length > 0 ? ` Likewise ${others.join(', ')}.` : ''}`;
}

function describeMask(mask: PromptMask): string {
  return mask === 'zero'
    ? "On prompted images an attention mask is zero in the prompt tokens' rows and columns (seed 003's \"W/O prompt\" reading: the mask neither reaches nor reads them); --prompt-mask cls lets the CLS query attend to them with the mask's peak value."
    : "Rows with prompt mask cls: on prompted images the CLS query also attends to the prompt tokens with the mask's peak value (α for FALIP); the prompts' other rows and columns are zero.";
}

/**
 * `falip eval --prompts a,b`: every row once per named set, keyed `<row>@<set>` and labelled
 * `<label> @ <set>` (`@cls` and `(mask cls)` added with `--prompt-mask cls`, so tables put together from
 * runs of both masks keep them apart); the name `none` keeps the row on the base CLIP, unchanged.
 */
export function rowsPerPromptSet(
  rows: readonly RowConfig[],
  task: AnyTask,
  names: readonly string[],
  mask: string | undefined,
): RowConfig[] {
  if (mask !== undefined && !(PROMPT_MASKS as readonly string[]).includes(mask))
    throw new UserError(`--prompt-mask ${mask}: expected one of ${PROMPT_MASKS.join(', ')}`);
  if (names.length === 0) {
    if (mask !== undefined) throw new UserError('--prompt-mask: applies to rows with --prompts');
    return [...rows];
  }
  if (!task.learnedPrompts)
    throw new UserError(
      `--prompts: ${task.name} datasets take no learned prompts (classification and point-cloud datasets do)`,
    );
  for (const name of names)
    if (!NAME_PATTERN.test(name)) throw new UserError(`--prompts ${name}: not a prompt set name (falip prompts list)`);
  return [...new Set(names)].flatMap((name) =>
    rows.map((r) =>
      name === NO_PROMPTS
        ? r
        : {
            ...r,
            key: `${r.key}@${name}${mask === 'cls' ? '@cls' : ''}`,
            label: `${r.label} @ ${name}${mask === 'cls' ? ' (mask cls)' : ''}`,
            prompts: name,
            ...(mask !== undefined && { prompt_mask: mask as PromptMask }),
          },
    ),
  );
}
