// Reading exported graphs back, so tests can check what the bytes hold (not just what they do).
import type onnxProto from 'onnx-proto';
import { decodeModel } from '../../../src/training/onnx/proto.js';

type GraphProto = onnxProto.onnx.GraphProto;

export function decode(bytes: Uint8Array) {
  return decodeModel(bytes);
}

/** The decoded graph (decoded messages are class instances: repeated fields are arrays). */
export function graphOf(bytes: Uint8Array): GraphProto {
  const g = decodeModel(bytes).graph;
  if (!g) throw new Error('no graph');
  return g as GraphProto;
}

export function metadata(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of decodeModel(bytes).metadataProps) out[p.key ?? ''] = p.value ?? '';
  return out;
}

/** The TreeEnsemble node's split modes and missing directions (the node must exist). */
export function treeEnsembleSummary(bytes: Uint8Array): { member: number; leq: number; missingTrue: number } {
  const node = graphOf(bytes).node.find((n) => n.opType === 'TreeEnsemble');
  if (!node) throw new Error('no TreeEnsemble node');
  const attrs = node.attribute as onnxProto.onnx.AttributeProto[];
  const modes = attrs.find((a) => a.name === 'nodes_modes')?.t?.rawData ?? new Uint8Array();
  const missing = attrs.find((a) => a.name === 'nodes_missing_value_tracks_true')?.ints ?? [];
  let member = 0;
  let leq = 0;
  for (const m of modes) {
    if (m === 6) member++;
    else if (m === 0) leq++;
  }
  return { member, leq, missingTrue: missing.filter((v) => Number(v) === 1).length };
}
