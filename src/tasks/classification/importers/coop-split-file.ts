import { join } from 'node:path';
import { z } from 'zod';
import { relativeImagePath } from '../../../datasets/image-path.js';
import { UserError } from '../../../util/errors.js';
import { parseWith } from '../../../util/schema-check.js';
import { nonBlankLines, readTextFile } from '../../../util/text-file.js';
import type { CoopSplit } from './coop-datasets.js';
import type { ListedImage } from './region-boxes.js';

/** A split of a CoOp dataset and the label space of its whole split file. */
export interface CoopSplitList {
  images: ListedImage[];
  /** In label order, as the file spells them. */
  classNames: string[];
  /** The files read, for dataset.json's sources. */
  files: string[];
}

const entrySchema = z.tuple([relativeImagePath, z.number().int().nonnegative(), z.string().min(1)]);
const splitFileSchema = z.object({
  train: z.array(entrySchema).optional(),
  val: z.array(entrySchema).optional(),
  test: z.array(entrySchema).optional(),
});

/**
 * A `split_zhou_<Name>.json`. Labels and names are checked over the whole file (every split), as
 * base-to-new splitting and the classifier need one label space: each label has one class name
 * wherever it appears, and the labels run 0..n−1 with none unused (Dassl orders class names by
 * label, so a gap would shift every later class).
 */
export async function readZhouSplit(file: string, split: CoopSplit): Promise<CoopSplitList> {
  const text = await readTextFile(file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${file}: (file): not valid JSON (truncated?): ${(err as Error).message}`);
  }
  const parsed = parseWith(splitFileSchema, raw, file);
  const wanted = parsed[split];
  if (wanted === undefined) throw new UserError(`${file}: ${split}: missing (the file has no ${split} split)`);
  if (wanted.length === 0) throw new UserError(`${file}: ${split}: no images`);

  const nameOf = new Map<number, { name: string; at: string }>();
  let top = { label: -1, at: '' };
  for (const s of ['train', 'val', 'test'] as const) {
    for (const [i, [, label, name]] of (parsed[s] ?? []).entries()) {
      const at = `${s}[${i}]`;
      const known = nameOf.get(label);
      if (known === undefined) nameOf.set(label, { name, at });
      else if (known.name !== name)
        throw new UserError(
          `${file}: ${at}[2]: class name "${name}" for label ${label}, but ${known.at}[2] names label ${label} "${known.name}"`,
        );
      if (label > top.label) top = { label, at };
    }
  }
  const classNames: string[] = [];
  for (let label = 0; label <= top.label; label++) {
    const known = nameOf.get(label);
    if (known === undefined)
      throw new UserError(
        `${file}: ${top.at}[1]: label ${top.label}, but no entry has label ${label} (labels must run 0..n−1, each used)`,
      );
    classNames.push(known.name);
  }

  const firstAt = new Map<string, string>();
  const images = wanted.map(([image, label], i): ListedImage => {
    const at = `${split}[${i}]`;
    const first = firstAt.get(image);
    if (first !== undefined) throw new UserError(`${file}: ${at}[0]: ${image} is listed again (first at ${first}[0])`);
    firstAt.set(image, at);
    return { image, label, where: file, field: `${at}[0]` };
  });
  return { images, classNames, files: [file] };
}

/**
 * FGVCAircraft as CoOp reads it: `variants.txt` (one class a line, label = line index) and
 * `images_variant_<split>.txt` (`<image id> <variant>`, the variant may hold spaces; the image is
 * `images/<id>.jpg`).
 */
export async function readFgvcSplit(root: string, split: CoopSplit): Promise<CoopSplitList> {
  const variantsFile = join(root, 'variants.txt');
  const variants = nonBlankLines(await readTextFile(variantsFile), variantsFile).map((l) => ({
    ...l,
    text: l.text.trim(),
  }));
  if (variants.length === 0) throw new UserError(`${variantsFile}: no variants`);
  const labelOf = new Map<string, { label: number; where: string }>();
  for (const [label, { text, where }] of variants.entries()) {
    const first = labelOf.get(text);
    if (first !== undefined) throw new UserError(`${where}: variant: "${text}" is also at ${first.where}`);
    labelOf.set(text, { label, where });
  }

  const listFile = join(root, `images_variant_${split}.txt`);
  const lines = nonBlankLines(await readTextFile(listFile), listFile);
  if (lines.length === 0) throw new UserError(`${listFile}: no images`);
  const firstAt = new Map<string, string>();
  const images = lines.map(({ text, where }): ListedImage => {
    const m = /^(\S+)\s+(.+)$/.exec(text.trim());
    if (!m) throw new UserError(`${where}: (line): expected "<image id> <variant>"`);
    const [, id, variant] = m as unknown as [string, string, string];
    const known = labelOf.get(variant);
    if (known === undefined) throw new UserError(`${where}: variant: "${variant}" is not in ${variantsFile}`);
    const image = `${id}.jpg`;
    if (!relativeImagePath.safeParse(image).success)
      throw new UserError(`${where}: image: "${id}" would name a file outside the image folder`);
    const first = firstAt.get(image);
    if (first !== undefined) throw new UserError(`${where}: image: ${id} is listed again (first at ${first})`);
    firstAt.set(image, where);
    return { image, label: known.label, where, field: 'image' };
  });
  return { images, classNames: variants.map((v) => v.text), files: [variantsFile, listFile] };
}
