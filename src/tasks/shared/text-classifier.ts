import path from 'node:path';
import { z } from 'zod';
import type { TextPromptInputs } from '../../encoder/requests.js';
import { UserError } from '../../util/errors.js';
import { REPO_ROOT } from '../../util/repo-paths.js';
import { parseWith, parseJsonLine } from '../../util/schema-check.js';
import { readTextFile } from '../../util/text-file.js';
import { normalized } from '../../util/vector.js';
import type { TextFeatures } from './text-features.js';

/** Which captions describe a class: the dataset's one template, or CLIP's 80-template ImageNet ensemble. */
export type TemplateSet = 'single' | 'imagenet-80';
export const TEMPLATE_SETS: readonly TemplateSet[] = ['single', 'imagenet-80'];

const templateFileSchema = z.object({
  source: z.string().min(1),
  templates: z.array(z.string().refine((t) => t.split('{}').length === 2, 'expected exactly one {}')).min(1),
});

export const ENSEMBLE_TEMPLATES_FILE = path.join(REPO_ROOT, 'configs', 'templates', 'imagenet-80.json');

/** The templates of a set, for a dataset whose own template is `single`. */
export async function templatesOf(set: TemplateSet, single: string): Promise<string[]> {
  if (set === 'single') return [single];
  const text = await readTextFile(ENSEMBLE_TEMPLATES_FILE);
  return parseWith(templateFileSchema, parseJsonLine(text, ENSEMBLE_TEMPLATES_FILE), ENSEMBLE_TEMPLATES_FILE).templates;
}

/**
 * CLIP's zero-shot classifier: per class the normalized text embedding of its caption, or with several
 * templates the normalized mean of their normalized embeddings (CLIP's prompt ensembling). [C][P].
 */
export async function textClassifier(
  texts: TextFeatures,
  names: readonly string[],
  templates: readonly string[],
): Promise<Float32Array[]> {
  return Promise.all(
    names.map(async (name) => normalized(await texts.mean(templates.map((t) => t.replace('{}', name))))),
  );
}

/** CoOp's prompt text (every trainer's): n X's, the class name with `_` as spaces, a full stop. */
export function learnedPromptText(nCtx: number, name: string): string {
  return `${Array.from({ length: nCtx }, () => 'X').join(' ')} ${name.replaceAll('_', ' ')}.`;
}

/**
 * A prompt-tuned CLIP's classifier: per class the normalized text embedding of its learned prompt (the
 * set's context, the class's own for a class-specific set, in place of the X's). [C][P]. `where` names
 * the split for the error of a class-specific set trained on another number of classes.
 */
export async function promptedClassifier(
  texts: TextFeatures,
  names: readonly string[],
  prompts: TextPromptInputs,
  where: string,
): Promise<Float32Array[]> {
  if (prompts.classes !== null && prompts.classes !== names.length)
    throw new UserError(
      `${where}: the prompts ${prompts.key} have a class-specific context for ${prompts.classes} classes; this dataset has ${names.length}`,
    );
  return Promise.all(names.map((name, c) => texts.prompted(learnedPromptText(prompts.tokens, name), prompts, c)));
}
