import { join, resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from '../../../util/errors.js';
import { REPO_ROOT } from '../../../util/repo-paths.js';
import { parseJsonLine, parseWith } from '../../../util/schema-check.js';
import { nonBlankLines, readTextFile } from '../../../util/text-file.js';

/** ImageNet-S919: a mask's class id k in 1..919 is the k-th of these wnids in sorted order. */
export const IMAGENET_S_CLASS_COUNT = 919;

/** The release ships no class names, so falip ships them (with their source) beside the other configs. */
const IMAGENET_S_CLASSNAMES_FILE = join(REPO_ROOT, 'configs', 'classnames', 'imagenet-s-919.json');

const classListSchema = z.object({
  source: z.string().min(1),
  names: z
    .array(
      z.object({
        wnid: z.string().regex(/^n\d{8}$/, 'expected a wnid like n01440764'),
        name: z.string().trim().min(1),
      }),
    )
    .length(IMAGENET_S_CLASS_COUNT, `expected ${IMAGENET_S_CLASS_COUNT} classes`),
});

export interface ImageNetSClassList {
  /** Where the names came from, for classes.json. */
  source: string;
  /** The files read (the shipped list, and the user's override if any). */
  files: string[];
  /** Sorted; label = index, mask class id = index + 1. */
  wnids: string[];
  names: string[];
}

/**
 * The shipped 919 names, or the user's: a JSON file of the shipped shape, or a text file of one
 * name per line in the sorted-wnid order (the wnids then come from the shipped list).
 */
export async function readImageNetSClassList(namesFile?: string): Promise<ImageNetSClassList> {
  const shipped = await readClassListJson(IMAGENET_S_CLASSNAMES_FILE);
  if (namesFile === undefined) return shipped;
  const path = resolve(namesFile);
  const text = await readTextFile(path);
  if (text.trimStart().startsWith('{')) {
    const own = await readClassListJson(path);
    return { ...own, files: [...shipped.files, path] };
  }
  const names = nonBlankLines(text, path).map((l) => l.text.trim());
  if (names.length !== IMAGENET_S_CLASS_COUNT) {
    throw new UserError(
      `${path}: expected ${IMAGENET_S_CLASS_COUNT} names (one per line, in the sorted-wnid order), found ${names.length}`,
    );
  }
  return {
    source: `${path}: one name per line, in the sorted-wnid order`,
    files: [...shipped.files, path],
    wnids: shipped.wnids,
    names,
  };
}

async function readClassListJson(path: string): Promise<ImageNetSClassList> {
  const list = parseWith(classListSchema, parseJsonLine(await readTextFile(path), path), path);
  // Sorted and unique, or the label ↔ mask id correspondence would silently shift.
  list.names.forEach(({ wnid }, i) => {
    const previous = list.names[i - 1]?.wnid;
    if (previous !== undefined && !(previous < wnid)) {
      throw new UserError(
        `${path}: names[${i}].wnid: ${wnid} does not sort after ${previous} (expected the ${IMAGENET_S_CLASS_COUNT} wnids sorted, each once)`,
      );
    }
  });
  return {
    source: list.source,
    files: [path],
    wnids: list.names.map((n) => n.wnid),
    names: list.names.map((n) => n.name),
  };
}
