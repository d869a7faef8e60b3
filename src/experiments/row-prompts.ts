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

/** Reads a registered prompt set of the run's model by name (a UserError when it has none of that name). */
export type PromptSetSource = (name: string) => Promise<RegisteredPromptSet>;

export interface PromptedRows<O> {
  rows: TaskRow<O>[];
  footnotes: string[];
}

/** The rows with their prompts (rows naming none unchanged). */
export async function withRowPrompts<O>(
  cfg: TableConfig,
  rows: TaskRow<O>[],
  config: ClipConfig,
  source: PromptSetSource | undefined,
): Promise<PromptedRows<O>> {
  const named = new Map(cfg.rows.filter((r) => r.prompts).map((r) => [r.key, r]));
  if (named.size === 0) return { rows, footnotes: [] };
  if (!source) throw new Error(`${cfg.name}: rows name learned prompts but no prompt sets were given to read them`);
  const sets = new Map<string, Promise<RegisteredPromptSet>>();
  const setOf = (name: string) => {
    let s = sets.get(name);
    if (!s) {
      s = source(name);
      sets.set(name, s);
    }
    return s;
  };
  const out: TaskRow<O>[] = [];
  const masks = new Set<PromptMask>();
  for (const row of rows) {
    const r = named.get(row.key);
    if (!r?.prompts) {
      out.push(row);
      continue;
    }
    const set = await setOf(r.prompts);
    const mask = r.prompt_mask ?? 'zero';
    const prompts = rowPrompts(set, config, mask);
    if (prompts.vision) {
      masks.add(mask);
      const ablation = row.methods.find((m) => m.ablation);
      if (ablation)
        throw new UserError(
          `${cfg.name}: row ${row.key}: ${ablation.name} is an ablation, which does not run on a prompt-tuned CLIP's images (prompts ${set.name} has vision prompts)`,
        );
    }
    out.push({ ...row, prompts });
  }
  const loaded = await Promise.all([...sets.values()]);
  return { rows: out, footnotes: [...loaded.map(describeSet), ...[...masks].map(describeMask)] };
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
