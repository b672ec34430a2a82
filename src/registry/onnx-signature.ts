// A model's input and output schema read from its ONNX graph: names, element types and shapes.
// A file that does not decode as an ONNX ModelProto with a graph, inputs and outputs is
// FALAJ_ONNX_INVALID; the caller stores nothing then.
import onnxProto from 'onnx-proto';
import { FalajError } from '../core/errors.js';
import type { Signature, TensorSpec } from './version-store.js';

const { onnx } = onnxProto;
type TypeProto = onnxProto.onnx.ITypeProto;

const ELEMENT_TYPES: Record<number, string> = {
  1: 'float',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'double',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

function invalid(why: string): FalajError {
  return new FalajError('FALAJ_ONNX_INVALID', `not a usable ONNX model: ${why}`);
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : Number(String(v));
}

function typeName(t: TypeProto | null | undefined): { type: string; shape: TensorSpec['shape'] } {
  if (t?.tensorType) {
    const shape = t.tensorType.shape
      ? (t.tensorType.shape.dim ?? []).map((d) =>
          d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? num(d.dimValue) : null,
        )
      : null;
    return { type: ELEMENT_TYPES[t.tensorType.elemType ?? 0] ?? 'undefined', shape };
  }
  if (t?.sequenceType) return { type: `sequence(${typeName(t.sequenceType.elemType).type})`, shape: null };
  if (t?.mapType)
    return {
      type: `map(${ELEMENT_TYPES[t.mapType.keyType ?? 0] ?? 'undefined'},${typeName(t.mapType.valueType).type})`,
      shape: null,
    };
  return { type: 'undefined', shape: null };
}

/** The signature of an ONNX model's bytes; FALAJ_ONNX_INVALID when they are not one. */
export function onnxSignature(bytes: Uint8Array): Signature {
  if (bytes.length === 0) throw invalid('the file is empty');
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw invalid(`it does not decode as an ONNX ModelProto (${(err as Error).message})`);
  }
  const graph = model.graph;
  if (!graph) throw invalid('it has no graph');
  if (!model.irVersion || num(model.irVersion) <= 0) throw invalid('it has no IR version');
  if ((model.opsetImport ?? []).length === 0) throw invalid('it imports no operator set');
  // Before IR version 4 initializers were also listed as inputs: they are weights, not inputs.
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const spec = (v: onnxProto.onnx.IValueInfoProto): TensorSpec => {
    if (!v.name) throw invalid('a graph input or output has no name');
    return { name: v.name, ...typeName(v.type) };
  };
  const inputs = (graph.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map(spec);
  const outputs = (graph.output ?? []).map(spec);
  if (inputs.length === 0) throw invalid('its graph has no inputs');
  if (outputs.length === 0) throw invalid('its graph has no outputs');
  return { inputs, outputs };
}
