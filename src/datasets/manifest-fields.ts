import { z } from 'zod';
import type { BoxXYWH } from '../image/box.js';

/** [x, y, w, h] in original-image pixels (COCO/ReCLIP convention, see src/image/box.ts). */
export const boxSchema = z
  .array(z.number())
  .length(4, 'expected 4 numbers')
  .transform((b): BoxXYWH => [b[0]!, b[1]!, b[2]!, b[3]!]);

/** A classes.json text template: exactly one `{}`, the class name's slot. */
export const templateSchema = z
  .string()
  .refine((t) => t.split('{}').length === 2, 'expected exactly one {} (where the class name goes)');
