import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../util/errors.js';
import { withFsErrors } from '../../util/fs-errors.js';
import { sha256Hex } from '../../util/sha256.js';
import { loadCheckpoint } from '../checkpoint.js';
import { configHash } from '../model-identity.js';
import { modelsFolder, NAME_PATTERN, type ResolvedModel } from '../model-store.js';
import type { LearnedPrompts, TrainerName } from './learned-prompts.js';
import { importPromptCheckpoint, type ImportedPrompts } from './prompt-checkpoint.js';
import {
  PROMPT_INFO_FILE,
  PROMPT_TENSORS_FILE,
  readPromptSet,
  writePromptSet,
  type PromptSetInfo,
} from './prompt-set.js';

/**
 * Registered prompt sets live with the base model they were checked against, in its folder under the
 * models folder: `<models>/<model>/prompts/<name>/` (a folder `--model DIR` gets under `by-path/`). A
 * name is the model's own (two models may each have a `coop-pets`), and removing a model's folder
 * removes its prompts. Each set is a prompt-set.ts folder: its JSON (what, from which checkpoint,
 * against which weights) is written last, so a folder with both files is complete.
 */
const PROMPTS_FOLDER = 'prompts';

/** `--prompts none` names the base CLIP with the dataset's own template, so no set may be called that. */
export const NO_PROMPTS = 'none';

export interface RegisteredPromptSet {
  name: string;
  dir: string;
  info: PromptSetInfo;
  prompts: LearnedPrompts;
  /** Hex SHA-256 of the registered tensors file (what the graphs are fed). */
  tensorsSha256: string;
}

export function promptSetDir(model: ResolvedModel, name: string): string {
  return path.join(model.cacheDir, PROMPTS_FOLDER, name);
}

export interface ImportPromptsOptions {
  trainer?: TrainerName;
  /** Replace a set already registered under the name. */
  force?: boolean;
}

/**
 * Reads a prompt-tuned checkpoint against `model` (widths, layers, frozen tensors: prompt-checkpoint.ts)
 * and registers its prompts as `name`. Every refusal is a UserError before anything is written.
 */
export function importPromptSet(
  checkpoint: string,
  model: ResolvedModel,
  name: string,
  opts: ImportPromptsOptions = {},
): Promise<{ dir: string; info: PromptSetInfo; imported: ImportedPrompts }> {
  return withFsErrors(async () => {
    if (!NAME_PATTERN.test(name)) throw new UserError(`--name ${name}: use letters, digits, '.', '_' or '-'`);
    if (name === NO_PROMPTS) throw new UserError(`--name ${name}: reserved (--prompts ${NO_PROMPTS} is the base CLIP)`);
    const dir = promptSetDir(model, name);
    const infoFile = path.join(dir, PROMPT_INFO_FILE);
    if (existsSync(infoFile) && !opts.force)
      throw new UserError(
        `prompt set '${name}' is already registered for model '${model.name}' (${infoFile}); pass --force to replace it`,
      );
    if (!existsSync(checkpoint)) throw new UserError(`${checkpoint}: not found`);
    const base = await loadCheckpoint(model.sourceDir);
    const registered = model.registered;
    if (registered && (registered.sha256 !== base.sha256 || registered.configHash !== configHash(base.config)))
      throw new UserError(
        `model '${model.name}': its checkpoint changed since it was imported; re-import it: falip model import ${model.sourceDir} --name ${model.name} --force`,
      );
    const imported = await importPromptCheckpoint(checkpoint, base, opts.trainer ? { trainer: opts.trainer } : {});
    // A replaced set loses its JSON first: a reader in between finds no set rather than a mixed one.
    await rm(infoFile, { force: true });
    const info = await writePromptSet(dir, imported, base.sha256);
    return { dir, info, imported };
  });
}

/** Whether the model has a complete set of this name (its JSON written). */
export function isPromptSetRegistered(model: ResolvedModel, name: string): boolean {
  return NAME_PATTERN.test(name) && existsSync(path.join(promptSetDir(model, name), PROMPT_INFO_FILE));
}

/** A registered set, checked to belong to the model whose weights have `modelSha256`. */
export function readRegisteredPromptSet(
  model: ResolvedModel,
  modelSha256: string,
  name: string,
): Promise<RegisteredPromptSet> {
  return withFsErrors(async () => {
    const dir = promptSetDir(model, name);
    if (!NAME_PATTERN.test(name) || !existsSync(path.join(dir, PROMPT_INFO_FILE)))
      throw new UserError(
        `prompt set '${name}' is not registered for model '${model.name}' (falip prompts list; falip prompts import CKPT --model ${model.name} --name ${name})`,
      );
    const { info, prompts } = await readPromptSet(dir);
    if (info.model.sha256 !== modelSha256)
      throw new UserError(
        `${path.join(dir, PROMPT_INFO_FILE)}: prompt set '${name}' was checked against weights ${info.model.sha256.slice(0, 12)}, but model '${model.name}' now has ${modelSha256.slice(0, 12)}; import it again (falip prompts import ${info.checkpoint.path} --model ${model.name} --name ${name} --force)`,
      );
    const tensorsSha256 = sha256Hex(await readFile(path.join(dir, PROMPT_TENSORS_FILE)));
    return { name, dir, info, prompts, tensorsSha256 };
  });
}

/** One registered set as `falip prompts list` shows it: its description, or why it cannot be read. */
export type PromptSetListing = { model: string; name: string; dir: string } & (
  | { info: PromptSetInfo }
  | { problem: string }
);

/** Every registered prompt set of every model folder, by model then name. */
export function listPromptSets(): Promise<PromptSetListing[]> {
  return withFsErrors(async () => {
    const root = modelsFolder();
    if (!existsSync(root)) return [];
    const models: { model: string; dir: string }[] = [];
    for (const name of (await readdir(root)).sort()) {
      if (!NAME_PATTERN.test(name)) continue;
      models.push({ model: name, dir: path.join(root, name) });
      // Folders opened as `--model DIR` keep their cache (and prompts) one level down.
      if (name === 'by-path' && !existsSync(path.join(root, name, 'model.json'))) {
        for (const slug of (await readdir(path.join(root, name))).sort())
          models.push({ model: `${name}/${slug}`, dir: path.join(root, name, slug) });
      }
    }
    const listings: PromptSetListing[] = [];
    for (const m of models) {
      const folder = path.join(m.dir, PROMPTS_FOLDER);
      if (!existsSync(folder)) continue;
      for (const name of (await readdir(folder)).sort()) {
        const dir = path.join(folder, name);
        if (!NAME_PATTERN.test(name) || !existsSync(path.join(dir, PROMPT_INFO_FILE))) continue;
        try {
          listings.push({ model: m.model, name, dir, info: (await readPromptSet(dir)).info });
        } catch (e) {
          if (!(e instanceof UserError)) throw e;
          listings.push({ model: m.model, name, dir, problem: e.message });
        }
      }
    }
    return listings;
  });
}
