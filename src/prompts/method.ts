import { z } from 'zod';
import type { EncodeRequest } from '../encoder/requests.js';
import type { VisionConfig } from '../model/clip-config.js';
import { canonicalJson } from '../util/canonical-json.js';
import { UserError } from '../util/errors.js';
import { parseWith } from '../util/schema-check.js';
import type { MethodDefinition, PrepareContext, RequestSlot } from './method-definition.js';
import type { ParamSpec, ParamTable } from './params.js';
import { METHOD_DEFINITIONS, methodParts } from './registry.js';

/**
 * A method ready to run on one model: its registered parts, every parameter resolved, and the key that
 * identifies its features. Built only by `makeMethod`, so the key always holds every parameter.
 */
export interface Method {
  /** As written: `falip`, `redcircle+falip`. */
  name: string;
  /** Every parameter the parts read, resolved on the model (layers as 0-based indices): JSON. */
  params: Record<string, unknown>;
  /** Canonical JSON of the name and the resolved parameters: the feature cache's and run key's part. */
  key: string;
  /** Whether any part edits the pixels (then layers before the mask cannot be shared across boxes). */
  editsPixels: boolean;
  /** Whether a part is an ablation (which changes how the encoder runs, and does not run on prompted images). */
  ablation: boolean;
  /** A part's own caption template for tasks that caption an expression (`{}` = the expression). */
  captionTemplate?: string;
  /** What the table footnote says, in parts, so that rows of one method can share a footnote. */
  description: MethodDescription;
  prepare(ctx: Omit<PrepareContext, 'vision'>): EncodeRequest;
}

/** The names a user can give: every registered method (compositions are `a+b`). */
export function methodNames(): string[] {
  return METHOD_DEFINITIONS.map((d) => d.name);
}

function partsOf(name: string, where: string): MethodDefinition[] {
  const parts = methodParts(name);
  if (!parts)
    throw new UserError(`${where}: unknown method '${name}' (one of ${methodNames().join(', ')}; compose with +)`);
  const filled = new Map<RequestSlot, string>();
  for (const part of parts) {
    for (const slot of part.fills) {
      const other = filled.get(slot);
      if (other)
        throw new UserError(
          `${where}: method '${name}': ${other} and ${part.name} both set the ${slot === 'edit' ? 'image edit' : slot}; compose prompts that do different things`,
        );
      filled.set(slot, part.name);
    }
  }
  for (const part of parts) {
    for (const slot of part.needs ?? []) {
      if (!filled.has(slot))
        throw new UserError(
          `${where}: method '${name}': ${part.name} needs a part that sets the ${slot === 'edit' ? 'image edit' : slot} (e.g. redcircle+${part.name})`,
        );
    }
  }
  if (parts.filter((p) => p.captionTemplate).length > 1)
    throw new UserError(`${where}: method '${name}': two parts have their own caption`);
  return parts;
}

/** The parameters of the parts, by name; a name several parts read is one parameter (they share its spec). */
export function paramTableOf(parts: readonly MethodDefinition[]): ParamTable {
  const table: ParamTable = {};
  for (const part of parts) Object.assign(table, part.params);
  return table;
}

/** Every parameter with the part(s) reading it, as a footnote lists them. */
/** A method as a footnote describes it: what its parts do, each parameter as shown, the open choices. */
export interface MethodDescription {
  name: string;
  summary: string;
  /** [label, shown value], e.g. ['α', '0.2'], in the parameter table's order. */
  params: [string, string][];
  notes: string[];
}

function describeParams(table: ParamTable, resolved: Record<string, unknown>): [string, string][] {
  return Object.entries(table).map(([k, spec]: [string, ParamSpec]) => [spec.label, spec.show(resolved[k])]);
}

/**
 * The footnotes of some methods, one per name: rows of one method with different parameters (a sweep, an
 * α ablation) share one footnote that gives the common parameters once and names the ones that vary.
 */
export function methodFootnotes(descriptions: readonly MethodDescription[]): string[] {
  const byName = new Map<string, MethodDescription[]>();
  for (const d of descriptions) byName.set(d.name, [...(byName.get(d.name) ?? []), d]);
  return [...byName.values()].map((group) => {
    const first = group[0]!;
    const varies = (i: number) => group.some((d) => d.params[i]![1] !== first.params[i]![1]);
    const shared = first.params.filter((_, i) => !varies(i)).map(([label, value]) => `${label} ${value}`);
    const varying = first.params.filter((_, i) => varies(i)).map(([label]) => label);
    const params = [...shared, ...(varying.length > 0 ? [`${varying.join(', ')} by row`] : [])].join(', ');
    const notes = [...new Set(group.flatMap((d) => d.notes))];
    return `Method ${first.name}: ${first.summary}${params ? ` (${params})` : ''}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}.`;
  });
}

function checkedEntry(name: string, raw: Record<string, unknown>, where: string) {
  const parts = partsOf(name, where);
  const table = paramTableOf(parts);
  const unread = Object.keys(raw).filter((k) => !(k in table));
  if (unread.length > 0) {
    const reads = Object.keys(table);
    throw new UserError(
      `${where}: method '${name}' does not read ${unread.join(', ')} (${reads.length > 0 ? `it reads ${reads.join(', ')}` : 'it has no parameters'})`,
    );
  }
  const schema = z.object(Object.fromEntries(Object.entries(table).map(([k, spec]) => [k, spec.schema]))).strict();
  return { parts, table, values: parseWith(schema, raw, where) as Record<string, unknown> };
}

/** Everything `makeMethod` checks that needs no model: the name's parts, which parameters they read, their values. */
export function checkMethodEntry(name: string, raw: Record<string, unknown>, where: string): void {
  checkedEntry(name, raw, where);
}

/**
 * Builds a method from its name and raw parameter values (a config's values, or flags already turned
 * into values by each parameter's `fromFlag`). Unknown parameters and bad values are UserErrors naming
 * `where` and the field.
 */
export function makeMethod(name: string, raw: Record<string, unknown>, vision: VisionConfig, where: string): Method {
  const { parts, table, values } = checkedEntry(name, raw, where);
  const resolved: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(table)) {
    try {
      resolved[k] = spec.resolve(values[k], vision);
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`${where}: ${k}: ${e.message}`);
      throw e;
    }
  }
  const pick = (part: MethodDefinition) => Object.fromEntries(Object.keys(part.params).map((k) => [k, resolved[k]]));
  const notes = parts.flatMap((part) => part.notes?.(pick(part) as never) ?? []);
  const captionTemplate = parts.find((p) => p.captionTemplate)?.captionTemplate;
  return {
    name,
    params: resolved,
    key: canonicalJson({ method: name, params: resolved }),
    editsPixels: parts.some((p) => p.fills.includes('edit')),
    ablation: parts.some((p) => p.fills.includes('ablation')),
    ...(captionTemplate !== undefined && { captionTemplate }),
    description: {
      name,
      summary: parts.map((p) => p.summary).join('; with '),
      params: describeParams(table, resolved),
      notes,
    },
    prepare: (ctx) =>
      Object.assign({}, ...parts.map((part) => part.prepare(pick(part) as never, { ...ctx, vision }))) as EncodeRequest,
  };
}
