import type { ClipConfig } from '../clip-config.js';
import type { Precision } from '../onnx/precision.js';
import type { WeightsIndex } from '../onnx/weights-file.js';

/**
 * What every graph family shares. A family module (one per file in this folder) owns everything about
 * its graphs that another module could get wrong: the names of their inputs and outputs, how a member
 * is built, how one request's data becomes its feeds, and how its outputs are read back. Nothing outside
 * this folder spells an input or output name.
 */

/** The tower whose weights file a graph reads. */
export type Tower = 'vision' | 'text';

/** One float32 tensor of one request, without the batch axis. */
export interface Feed {
  data: Float32Array;
  dims: readonly number[];
}

/** One request's inputs to a graph, by input name. */
export interface Feeds {
  /** Stacked along a new leading batch axis. */
  items: Record<string, Feed>;
  /** One tensor per batch (gates): requests with different ones never share a batch. */
  shared: Record<string, Feed>;
}

/** The outputs read back, one per request (the batch axis split off). */
export type GraphOutputs<O extends string> = Record<O, Float32Array>;

/**
 * A family of graphs over one tower's weights. `Spec` is what varies between its members, a plain
 * object; `key` names a member canonically for the model it belongs to: its cache file stem, and the
 * key of its session and of its batches. Families with one member have an `undefined` spec.
 */
export interface GraphFamily<Spec> {
  readonly tower: Tower;
  key(spec: Spec, cfg: ClipConfig): string;
  build(cfg: ClipConfig, index: WeightsIndex, weightsFile: string, spec: Spec, precision: Precision): Uint8Array;
  /** Why the family has no graph in `precision`, as one line telling the user what to use; else undefined. */
  unsupported?(precision: Precision): string | undefined;
}

/** The spec arguments of a family: none for a family with one member. */
export type SpecArgs<Spec> = [Spec] extends [undefined] ? [] : [spec: Spec];

/** One member of a family for one model: its key and its verified graph file, built on first use. */
export interface GraphMember {
  readonly key: string;
  path(): Promise<string>;
}

/** One request to one member: its feeds and the outputs it reads. */
export interface GraphJob<O extends string = string> extends Feeds {
  graph: GraphMember;
  outputs: readonly O[];
}

export function graphJob<O extends string>(graph: GraphMember, feeds: Feeds, outputs: readonly O[]): GraphJob<O> {
  return { graph, items: feeds.items, shared: feeds.shared, outputs };
}
