import { existsSync } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { UserError } from '../../util/errors.js';
import { withFsErrors } from '../../util/fs-errors.js';
import { parseWith } from '../../util/schema-check.js';
import { sha256HexSchema } from '../../util/sha256.js';
import { readTextFile } from '../../util/text-file.js';
import { readSafetensors, writeSafetensors } from '../safetensors.js';
import type { Tensor } from '../tensor.js';
import { promptDepth, promptTensors, TRAINER_NAMES, type LearnedPrompts } from './learned-prompts.js';
import type { ImportedPrompts } from './prompt-checkpoint.js';

/**
 * A registered prompt set is a folder of two files: `prompts.safetensors` (float32 tensors named as
 * `promptTensors` names them: ctx, text.deep.<layer>, vision.shallow, vision.deep.<layer>) and
 * `prompts.json` (what they are and where they came from). The JSON is written last, so a folder with
 * both files is complete.
 */
export const PROMPT_INFO_FILE = 'prompts.json';
export const PROMPT_TENSORS_FILE = 'prompts.safetensors';

const depth = z.number().int().positive();
const infoSchema = z
  .object({
    format: z.literal('falip-prompts'),
    version: z.literal(1),
    trainer: z.enum(TRAINER_NAMES),
    nCtx: z.number().int().positive(),
    /** Classes of a class-specific ctx ([n_cls, n_ctx, D_t]); null when ctx is shared. */
    classes: z.number().int().positive().nullable(),
    /** 1 = shallow only; deep text prompts replace tokens before layers 1..textDepth-1. */
    textDepth: depth,
    vision: z.object({ nCtx: z.number().int().positive(), depth }).strict().nullable(),
    checkpoint: z
      .object({ path: z.string().min(1), sha256: sha256HexSchema, epoch: z.number().int().nonnegative().nullable() })
      .strict(),
    /** The base model (sha256 of its model.safetensors) the widths and frozen tensors were checked against. */
    model: z.object({ sha256: sha256HexSchema }).strict(),
    frozenCompared: z.number().int().nonnegative(),
    sources: z.record(
      z.string(),
      z.array(z.object({ tensor: z.string(), dtype: z.enum(['float64', 'float32', 'float16', 'bfloat16']) }).strict()),
    ),
  })
  .strict();

export type PromptSetInfo = z.infer<typeof infoSchema>;

/**
 * Writes `imported` as a prompt set in `dir` (created when missing). `modelSha256` names the base model
 * it was checked against. An existing folder must be a prompt set already (it is replaced) or empty:
 * falip does not write into folders it did not make.
 */
export function writePromptSet(dir: string, imported: ImportedPrompts, modelSha256: string): Promise<PromptSetInfo> {
  return withFsErrors(async () => {
    if (existsSync(dir)) {
      if (!(await stat(dir)).isDirectory()) throw new UserError(`${dir}: exists and is not a folder`);
      const foreign = (await readdir(dir)).filter((f) => f !== PROMPT_INFO_FILE && f !== PROMPT_TENSORS_FILE);
      if (foreign.length > 0)
        throw new UserError(
          `${dir}: exists and is not a falip prompt folder (it holds ${foreign[0]}); refusing to write into it`,
        );
    }
    await mkdir(dir, { recursive: true });
    const { prompts } = imported;
    const info: PromptSetInfo = {
      format: 'falip-prompts',
      version: 1,
      trainer: prompts.trainer,
      nCtx: prompts.nCtx,
      classes: prompts.ctx.shape.length === 3 ? prompts.ctx.shape[0]! : null,
      textDepth: promptDepth(prompts.deepText),
      vision: prompts.vision ? { nCtx: prompts.vision.nCtx, depth: promptDepth(prompts.vision.deep) } : null,
      checkpoint: { ...imported.checkpoint, epoch: imported.epoch },
      model: { sha256: modelSha256 },
      frozenCompared: imported.frozenCompared,
      sources: imported.sources,
    };
    await writeSafetensors(join(dir, PROMPT_TENSORS_FILE), promptTensors(prompts));
    await writeFileAtomic(join(dir, PROMPT_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
    return info;
  });
}

/** Reads a prompt set, checking that its tensors are the ones its JSON describes. */
export async function readPromptSet(dir: string): Promise<{ info: PromptSetInfo; prompts: LearnedPrompts }> {
  const infoPath = join(dir, PROMPT_INFO_FILE);
  const tensorsPath = join(dir, PROMPT_TENSORS_FILE);
  let json: unknown;
  try {
    json = JSON.parse(await readTextFile(infoPath));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${infoPath}: not valid JSON (${(e as Error).message})`);
  }
  const info = parseWith(infoSchema, json, infoPath);
  if (!existsSync(tensorsPath)) throw new UserError(`${tensorsPath}: not found`);
  const tensors = await readSafetensors(tensorsPath);
  const fail = (why: string): never => {
    throw new UserError(`${tensorsPath}: ${why}`);
  };

  const ctx = tensors.get('ctx') ?? fail('no ctx tensor');
  const expectedCtx = info.classes === null ? [info.nCtx] : [info.classes, info.nCtx];
  if (ctx.shape.length !== expectedCtx.length + 1 || expectedCtx.some((n, i) => ctx.shape[i] !== n)) {
    fail(
      `ctx has shape [${ctx.shape.join(', ')}] but ${PROMPT_INFO_FILE} says ${info.classes === null ? '' : `${info.classes} classes × `}${info.nCtx} tokens`,
    );
  }
  const textWidth = ctx.shape[ctx.shape.length - 1]!;
  const deepText = new Map<number, Tensor>();
  const visionDeep = new Map<number, Tensor>();
  let visionShallow: Tensor | undefined;
  for (const [name, t] of tensors) {
    const deep = /^(text|vision)\.deep\.([1-9]\d*)$/.exec(name);
    if (deep) (deep[1] === 'text' ? deepText : visionDeep).set(Number(deep[2]), t);
    else if (name === 'vision.shallow') visionShallow = t;
    else if (name !== 'ctx') fail(`unexpected tensor ${name}`);
  }
  const checkTokens = (name: string, t: Tensor, tokens: number, width: number): void => {
    if (t.shape.length !== 2 || t.shape[0] !== tokens || t.shape[1] !== width)
      fail(`${name} has shape [${t.shape.join(', ')}], expected [${tokens}, ${width}]`);
  };
  for (const [layer, t] of deepText) checkTokens(`text.deep.${layer}`, t, info.nCtx, textWidth);
  if (promptDepth(deepText) !== info.textDepth)
    fail(`deep text prompts reach depth ${promptDepth(deepText)} but ${PROMPT_INFO_FILE} says ${info.textDepth}`);

  const prompts: LearnedPrompts = { trainer: info.trainer, nCtx: info.nCtx, ctx, deepText: byLayer(deepText) };
  if (info.vision) {
    if (!visionShallow) return fail(`no vision.shallow tensor but ${PROMPT_INFO_FILE} describes vision prompts`);
    const visionWidth = visionShallow.shape[1]!;
    checkTokens('vision.shallow', visionShallow, info.vision.nCtx, visionWidth);
    for (const [layer, t] of visionDeep) checkTokens(`vision.deep.${layer}`, t, info.vision.nCtx, visionWidth);
    if (promptDepth(visionDeep) !== info.vision.depth)
      fail(
        `deep vision prompts reach depth ${promptDepth(visionDeep)} but ${PROMPT_INFO_FILE} says ${info.vision.depth}`,
      );
    prompts.vision = { nCtx: info.vision.nCtx, shallow: visionShallow, deep: byLayer(visionDeep) };
  } else if (visionShallow || visionDeep.size > 0) {
    fail(`vision prompt tensors but ${PROMPT_INFO_FILE} describes none`);
  }
  return { info, prompts };
}

/** The map in ascending layer order (safetensors sorts names as text: text.deep.10 before text.deep.2). */
function byLayer(m: Map<number, Tensor>): Map<number, Tensor> {
  return new Map([...m].sort(([a], [b]) => a - b));
}
