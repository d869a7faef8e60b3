import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import type { BoxXYWH } from '../../../image/box.js';
import { UserError } from '../../../util/errors.js';
import { describeIssue, firstIssuePath, safeParseWith } from '../../../util/schema-check.js';
import { decodeUtf8 } from '../../../util/text-file.js';

/** One annotated object of a PASCAL-VOC-style file (StanfordDogs' Annotation/ files). */
export interface VocObject {
  /** From bndbox as `[xmin, ymin, xmax − xmin, ymax − ymin]`: continuous xywh, no +1 pixel rule. */
  box: BoxXYWH;
  /** `file:line` of the object's `<object>` element. */
  where: string;
}

export interface VocAnnotation {
  /** The size the XML states, when it states one; the image header is the truth. */
  size?: { width: number; height: number };
  objects: VocObject[];
}

const number = z
  .string()
  .trim()
  .regex(/^[+-]?\d+(\.\d+)?$/, 'expected a number')
  .transform(Number);

const vocSchema = z.object({
  annotation: z.object({
    size: z.object({ width: number, height: number }).optional(),
    object: z
      .array(z.object({ bndbox: z.object({ xmin: number, ymin: number, xmax: number, ymax: number }) }))
      .min(1, 'expected at least one object'),
  }),
});

/** Text values stay strings (the schema parses numbers strictly); `object` is a list even when there is one dog. */
const parser = new XMLParser({
  parseTagValue: false,
  isArray: (_name, jpath) => String(jpath) === 'annotation.object',
});

/** Parses one annotation file's bytes; malformed XML and missing fields are `file:line: field: problem`. */
export function parseVocAnnotation(bytes: Uint8Array, path: string): VocAnnotation {
  const text = decodeUtf8(bytes, path);
  // An annotation has no business declaring a DTD or entities: an external entity would name a file
  // (or a URL) to read, an internal one can expand without bound. Refused before the parser sees them.
  const declaration = /<!(DOCTYPE|ENTITY)\b/i.exec(text);
  if (declaration)
    throw new UserError(
      `${path}:${text.slice(0, declaration.index).split('\n').length}: (xml): a <!${declaration[1]!.toUpperCase()}> declaration is not allowed in an annotation (entities are never resolved)`,
    );
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new UserError(`${path}:${valid.err.line}: (xml): ${valid.err.msg}`);
  const result = safeParseWith(vocSchema, parser.parse(text));
  if (!result.success) {
    const line = lineOfIssue(text, firstIssuePath(result.error));
    throw new UserError(`${path}${line === undefined ? '' : `:${line}`}: ${describeIssue(result.error)}`);
  }
  const { size, object } = result.data.annotation;
  return {
    size,
    objects: object.map(({ bndbox: b }, i) => ({
      box: [b.xmin, b.ymin, b.xmax - b.xmin, b.ymax - b.ymin],
      where: `${path}:${lineOfElement(text, 'object', i) ?? 1}`,
    })),
  };
}

/** The parsed tree has no positions, so a bad field is located by counting its element in the text. */
function lineOfIssue(text: string, path: readonly PropertyKey[]): number | undefined {
  if (path[1] === 'object' && typeof path[2] === 'number') return lineOfElement(text, 'object', path[2]);
  if (typeof path[1] === 'string') return lineOfElement(text, path[1], 0);
  return undefined;
}

/** 1-based line of the `index`-th `<tag>` element. */
function lineOfElement(text: string, tag: string, index: number): number | undefined {
  const re = new RegExp(`<${tag}[\\s/>]`, 'g');
  for (let i = 0, m = re.exec(text); m; i++, m = re.exec(text)) {
    if (i === index) return text.slice(0, m.index).split('\n').length;
  }
  return undefined;
}
