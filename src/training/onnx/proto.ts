// A thin layer over onnx-proto's protobuf classes: tensors, attributes, nodes and a graph
// builder that hands out unique value names. Numeric tensors are written as little-endian
// raw_data through a DataView, so the bytes do not depend on the host and doubles keep all 64
// bits (protobuf `floats` attributes would round to float32).
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.IModelProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

export const DataType = onnx.TensorProto.DataType;
const AttributeType = onnx.AttributeProto.AttributeType;

/** The ONNX domain of the traditional-ML operators. */
export const ML_DOMAIN = 'ai.onnx.ml';

const utf8 = new TextEncoder();

export function bytesOf(s: string): Uint8Array {
  return utf8.encode(s);
}

function rawDoubles(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i] as number, true);
  return out;
}

function rawInt64s(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i] as number), true);
  return out;
}

export function doubleTensor(values: ArrayLike<number>, dims: number[] = [values.length]): TensorProto {
  return { dataType: DataType.DOUBLE, dims, rawData: rawDoubles(values) };
}

export function int64Tensor(values: ArrayLike<number>, dims: number[] = [values.length]): TensorProto {
  return { dataType: DataType.INT64, dims, rawData: rawInt64s(values) };
}

export function uint8Tensor(values: ArrayLike<number>, dims: number[] = [values.length]): TensorProto {
  return { dataType: DataType.UINT8, dims, rawData: Uint8Array.from(values) };
}

export function stringTensor(values: readonly string[], dims: number[] = [values.length]): TensorProto {
  return { dataType: DataType.STRING, dims, stringData: values.map(bytesOf) };
}

export const attr = {
  int: (name: string, i: number): AttributeProto => ({ name, type: AttributeType.INT, i }),
  ints: (name: string, ints: ArrayLike<number>): AttributeProto => ({
    name,
    type: AttributeType.INTS,
    ints: Array.from(ints),
  }),
  string: (name: string, s: string): AttributeProto => ({ name, type: AttributeType.STRING, s: bytesOf(s) }),
  strings: (name: string, strings: readonly string[]): AttributeProto => ({
    name,
    type: AttributeType.STRINGS,
    strings: strings.map(bytesOf),
  }),
  tensor: (name: string, t: TensorProto): AttributeProto => ({ name, type: AttributeType.TENSOR, t }),
};

/** A graph input or output: element type and shape, `N` standing for the batch dimension. */
export function valueInfo(name: string, elemType: number, dims: (number | 'N')[]): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (d === 'N' ? { dimParam: 'N' } : { dimValue: d })) },
      },
    },
  };
}

/**
 * Collects nodes and constants in order. Internal value names carry a prefix that sanitised
 * input names never have (names.ts), so they cannot collide with the graph's inputs or outputs.
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private counter = 0;

  constructor(private readonly prefix: string) {}

  /** A fresh internal value name; the hint keeps the graph readable in Netron. */
  fresh(hint: string): string {
    this.counter++;
    return `${this.prefix}${hint}_${this.counter}`;
  }

  /** Adds a constant (an initializer) and returns its value name. */
  constant(hint: string, t: TensorProto): string {
    const name = this.fresh(hint);
    this.initializers.push({ ...t, name });
    return name;
  }

  /**
   * Adds a node; `outputs` are the names to write (fresh ones when omitted) and are returned.
   */
  node(
    opType: string,
    inputs: string[],
    options: { domain?: string; attributes?: AttributeProto[]; outputs?: string[]; hint?: string } = {},
  ): string[] {
    const outputs = options.outputs ?? [this.fresh(options.hint ?? opType)];
    this.nodes.push({
      opType,
      domain: options.domain ?? '',
      name: `${this.prefix}${opType}_${this.nodes.length}`,
      input: inputs,
      output: outputs,
      attribute: options.attributes ?? [],
    });
    return outputs;
  }

  /** A node with exactly one output, returned as a string. */
  op(opType: string, inputs: string[], options: Parameters<GraphBuilder['node']>[2] = {}): string {
    return this.node(opType, inputs, options)[0] as string;
  }
}

/** Serialises a ModelProto; the same object gives the same bytes (protobufjs writes fields in order). */
export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Parses ONNX bytes; anything that is not a ModelProto is FALAJ_MODEL_INVALID by the caller. */
export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
