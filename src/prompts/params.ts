import { z } from 'zod';
import type { VisionConfig } from '../model/clip-config.js';
import { formatLayers, parseLayers } from './layer-spec.js';

/**
 * One parameter of a visual prompt, described once: the YAML key and `--flag` are its name, and this
 * table gives its help, default, validation, command-line parsing and how it reads on a given model.
 * Everything that lists, parses, keys or footnotes a method's parameters is derived from these.
 */
export interface ParamSpec<T = unknown, R = T> {
  /** Shown in footnotes before the value, e.g. "α". */
  label: string;
  help: string;
  /** `--help`'s placeholder, e.g. "<a>". */
  placeholder: string;
  /** Validates a value from a config or from `fromFlag`, and fills the default. */
  schema: z.ZodType<T>;
  /** A command-line string → the value the schema validates. */
  fromFlag(text: string): unknown;
  /** The value on a model: model-dependent defaults made concrete ("last 4" → [8,9,10,11] on 12 layers). */
  resolve(value: T, vision: VisionConfig): R;
  /** The resolved value as a footnote shows it. */
  show(resolved: R): string;
}

/** A parameter's default, as its schema fills it in. */
export function defaultOf<T>(spec: ParamSpec<T, unknown>): T {
  return spec.schema.parse(undefined);
}

/** Any parameter's spec: its value types differ per entry and are read back through `ResolvedParams`. */
// biome-ignore lint/suspicious/noExplicitAny: an existential type; `unknown` would make `resolve`'s argument uncallable
export type AnyParamSpec = ParamSpec<any, any>;

export type ParamTable = Record<string, AnyParamSpec>;

/** What `prepare` receives: every parameter resolved on the model. */
export type ResolvedParams<P extends ParamTable> = {
  [K in keyof P]: P[K] extends ParamSpec<infer _T, infer R> ? R : never;
};

/** A string that is a number becomes one; anything else goes to the schema as it is (and fails there). */
function numberFromFlag(text: string): unknown {
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? n : text;
}

export interface NumberParamOptions {
  label: string;
  help: string;
  default: number;
  /** Exclusive lower bound. */
  above?: number;
  /** Inclusive lower bound. */
  atLeast?: number;
  integer?: boolean;
}

export function numberParam(o: NumberParamOptions): ParamSpec<number> {
  let schema = z.number({ error: 'expected a number' }).finite();
  if (o.integer) schema = schema.int('expected an integer');
  if (o.above !== undefined) schema = schema.gt(o.above, `expected a number above ${o.above}`);
  if (o.atLeast !== undefined) schema = schema.gte(o.atLeast, `expected a number of at least ${o.atLeast}`);
  return {
    label: o.label,
    help: `${o.help} (default ${o.default})`,
    placeholder: o.integer ? '<n>' : '<x>',
    schema: schema.default(o.default),
    fromFlag: numberFromFlag,
    resolve: (v) => v,
    show: (v) => String(v),
  };
}

/** An integer, or 'auto' for a default that depends on the image (resolved at prepare time). */
export function autoIntegerParam(o: { label: string; help: string; autoMeans: string }): ParamSpec<number | 'auto'> {
  return {
    label: o.label,
    help: `${o.help} (default auto: ${o.autoMeans})`,
    placeholder: '<n|auto>',
    schema: z
      .union([z.literal('auto'), z.number().int('expected an integer or auto').gte(1, 'expected at least 1')])
      .default('auto'),
    fromFlag: (text) => (text.trim() === 'auto' ? 'auto' : numberFromFlag(text)),
    resolve: (v) => v,
    show: (v) => (v === 'auto' ? o.autoMeans : `${v} px`),
  };
}

export function enumParam<const V extends readonly [string, ...string[]]>(o: {
  label: string;
  help: string;
  values: V;
  default: V[number];
}): ParamSpec<V[number]> {
  return {
    label: o.label,
    help: `${o.help} (${o.values.join(' | ')}; default ${o.default})`,
    placeholder: `<${o.values.join('|')}>`,
    schema: z.enum(o.values).default(o.default as never) as unknown as z.ZodType<V[number]>,
    fromFlag: (text) => text.trim(),
    resolve: (v) => v,
    show: (v) => v,
  };
}

/** A config may give a layer spec as a number (`layers: 12`). */
const layerSpecSchema = z.union([z.string(), z.number().int()]).transform(String);

/** 1-based layers as "9-12", "1,3,5-7", "last 4", "all"; resolved to sorted 0-based indices. */
export function layersParam(o: { help: string; default: string }): ParamSpec<string, number[]> {
  return {
    label: 'layers',
    help: `${o.help}, 1-based, e.g. '9-12', '12', '1,3,5-7', 'last 4' (default ${o.default})`,
    placeholder: '<list>',
    schema: layerSpecSchema.default(o.default),
    fromFlag: (text) => text.trim(),
    resolve: (spec, v) => parseLayers(spec, v.numLayers),
    show: formatLayers,
  };
}

/** 1-based heads, default all; resolved to 0-based indices, or null for every head. */
export function headsParam(o: { help: string }): ParamSpec<string, number[] | null> {
  return {
    label: 'heads',
    help: `${o.help}, 1-based, e.g. '1-4' (default all)`,
    placeholder: '<list>',
    schema: layerSpecSchema.default('all'),
    fromFlag: (text) => text.trim(),
    resolve: (spec, v) => (spec.trim().toLowerCase() === 'all' ? null : parseLayers(spec, v.numHeads, 'heads')),
    show: (heads) => (heads === null ? 'all' : formatLayers(heads)),
  };
}
