import onnxProto from 'onnx-proto';
import { toFloat16, type Precision } from './precision.js';

const { onnx } = onnxProto;
type NodeProto = onnxProto.onnx.INodeProto;
type TensorProto = onnxProto.onnx.ITensorProto;
type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
type AttributeProto = onnxProto.onnx.IAttributeProto;

export const ElemType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, FLOAT16: 10 } as const;
export type ElemType = (typeof ElemType)[keyof typeof ElemType];

/** ONNX Runtime's contrib operators (the fused integer MatMuls); opset version 1 is the only one. */
export const MS_DOMAIN = 'com.microsoft';

/** A dimension: fixed size or a symbolic name such as 'batch'. */
export type Dim = number | string;

/** An initializer whose bytes live in a separate weights file (ONNX external data), shared by graph variants. */
export interface ExternalTensor {
  shape: number[];
  offset: number;
  length: number;
  elemType: ElemType;
}

export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'ints'; value: number[] };

export const int = (value: number): Attr => ({ kind: 'int', value });
export const float = (value: number): Attr => ({ kind: 'float', value });
export const ints = (value: number[]): Attr => ({ kind: 'ints', value });

function attributeProto(name: string, a: Attr): AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case 'int':
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'ints':
      return { name, type: T.INTS, ints: a.value };
  }
}

function valueInfo(name: string, elemType: ElemType, dims: Dim[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * Accumulates an ONNX graph: nodes in topological order (the order they are added), small constants
 * inline, large weights as external data. Value names are generated, so callers pass names around.
 *
 * FLOAT inputs and outputs are the graph's interface in every precision; inside, float values have the
 * precision's compute type (float16 in fp16, float32 otherwise): `input` casts a FLOAT input to it,
 * `output` casts back, `constFloat` makes constants of it. Where that type is float32 none of this adds a
 * node, so fp32 (and int8, whose activations stay float32) graphs do not depend on the option.
 */
export class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly externalNames = new Map<string, string>();
  private readonly domains = new Set<string>();
  private counter = 0;
  /** The type float values have inside the graph. */
  readonly floatType: ElemType;

  /** @param weightsFile file name of the external data, relative to the .onnx file */
  constructor(
    private readonly weightsFile: string,
    readonly precision: Precision = 'fp32',
  ) {
    // int8 quantizes only the Linear weights; its activations, like fp32's, are float32.
    this.floatType = precision === 'fp16' ? ElemType.FLOAT16 : ElemType.FLOAT;
  }

  private fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  /** Declares an input; a FLOAT one is returned in the graph's compute type. */
  input(name: string, elemType: ElemType, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return elemType === ElemType.FLOAT ? this.fromFloat32(name) : name;
  }

  /** Declares an output; a FLOAT one is cast from the graph's compute type. */
  output(name: string, value: string, elemType: ElemType, dims: Dim[]): void {
    const cast = elemType === ElemType.FLOAT && this.floatType !== ElemType.FLOAT;
    this.nodes.push({
      opType: cast ? 'Cast' : 'Identity',
      input: [value],
      output: [name],
      name: this.fresh('out'),
      ...(cast && { attribute: [attributeProto('to', int(ElemType.FLOAT))] }),
    });
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** A float value of the graph's compute type as float32 (no node where that is float32). */
  toFloat32(value: string): string {
    return this.floatType === ElemType.FLOAT ? value : this.op('Cast', [value], { to: int(ElemType.FLOAT) });
  }

  /** A float32 value in the graph's compute type (no node where that is float32). */
  fromFloat32(value: string): string {
    return this.floatType === ElemType.FLOAT ? value : this.op('Cast', [value], { to: int(this.floatType) });
  }

  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, hint = opType): string {
    return this.opN(opType, inputs, 1, attrs, hint)[0]!;
  }

  opN(
    opType: string,
    inputs: string[],
    outputCount: number,
    attrs: Record<string, Attr> = {},
    hint = opType,
    domain = '',
  ): string[] {
    const output = Array.from({ length: outputCount }, () => this.fresh(hint));
    if (domain) this.domains.add(domain);
    this.nodes.push({
      opType,
      input: inputs,
      output,
      name: this.fresh(`n_${opType}`),
      attribute: Object.entries(attrs).map(([k, v]) => attributeProto(k, v)),
      ...(domain && { domain }),
    });
    return output;
  }

  /** An operator of another opset domain (ONNX Runtime's contrib ops); the domain is imported once used. */
  opIn(domain: string, opType: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    return this.opN(opType, inputs, 1, attrs, opType, domain)[0]!;
  }

  /** A constant of the graph's compute type. */
  constFloat(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('cf');
    this.initializers.push(
      this.floatType === ElemType.FLOAT
        ? { name, dims, dataType: ElemType.FLOAT, floatData: values }
        : // TensorProto keeps float16 values as their bit patterns in int32_data.
          { name, dims, dataType: ElemType.FLOAT16, int32Data: Array.from(toFloat16(Float32Array.from(values))) },
    );
    return name;
  }

  constInt64(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('ci');
    this.initializers.push({ name, dims, dataType: ElemType.INT64, int64Data: values });
    return name;
  }

  /** Refers to a weight in the external weights file; each distinct weight is declared once per graph. */
  external(key: string, t: ExternalTensor): string {
    const known = this.externalNames.get(key);
    if (known) return known;
    const name = key;
    this.initializers.push({
      name,
      dims: t.shape,
      dataType: t.elemType,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: this.weightsFile },
        { key: 'offset', value: String(t.offset) },
        { key: 'length', value: String(t.length) },
      ],
    });
    this.externalNames.set(key, name);
    return name;
  }

  toBytes(graphName: string, opset = 17): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'falip',
      opsetImport: [{ domain: '', version: opset }, ...[...this.domains].map((domain) => ({ domain, version: 1 }))],
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
