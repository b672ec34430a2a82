// How a lineage node is named by people (the API's `node` parameter, `falaj lineage`):
// KIND:REF, where KIND is a short name with a human REF, or a stored kind with its id.
//   model:fraud@3, model:fraud@production, model:models:/fraud/3   a model version
//   dataset:fraud-data@2, dataset:fraud-data@latest, dataset:fraud-data   a dataset version
//   run:<id>, job:<id>, code:<sha256>, file:<sha256>, deployment:<id>
//   model_version:<id>, dataset_version:<id>   the stored ids themselves
import { FalajError } from '../core/errors.js';
import { NODE_KINDS, type NodeKind } from './lineage-store.js';

export type NodeRef =
  | { kind: 'model'; ref: string }
  | { kind: 'dataset'; dataset: string; version: string }
  | { kind: NodeKind; id: string };

export const NODE_REF_MAX = 600;

const SHORT_KINDS = ['model', 'dataset', 'run', 'job', 'code', 'file', 'deployment'] as const;

export function invalidNode(text: string, why: string): FalajError {
  return new FalajError(
    'FALAJ_LINEAGE_NODE_INVALID',
    `lineage node '${text.slice(0, 300)}': ${why} (expected KIND:REF such as model:NAME@VERSION, model:NAME@ALIAS, dataset:NAME@N, run:ID, job:ID or code:DIGEST)`,
    { node: text.slice(0, 300) },
  );
}

/** Parses `KIND:REF` without touching the store. */
export function parseNodeRef(text: string): NodeRef {
  if (text.includes('\u0000')) throw invalidNode(text.replaceAll('\u0000', '\\0'), 'NUL character');
  const colon = text.indexOf(':');
  if (colon <= 0) throw invalidNode(text, 'no KIND: prefix');
  const kind = text.slice(0, colon);
  const ref = text.slice(colon + 1);
  if (ref === '') throw invalidNode(text, `nothing after '${kind}:'`);
  if (kind === 'model') return { kind: 'model', ref };
  if (kind === 'dataset') {
    const at = ref.lastIndexOf('@');
    if (at === 0) throw invalidNode(text, 'no dataset name before @');
    if (at < 0) return { kind: 'dataset', dataset: ref, version: 'latest' };
    const version = ref.slice(at + 1);
    if (!/^(\d{1,15}|latest)$/.test(version))
      throw invalidNode(text, `'${version}' is neither a version number nor "latest"`);
    return { kind: 'dataset', dataset: ref.slice(0, at), version };
  }
  if ((NODE_KINDS as readonly string[]).includes(kind)) return { kind: kind as NodeKind, id: ref };
  throw invalidNode(
    text,
    `unknown kind '${kind.slice(0, 40)}' (one of ${[...SHORT_KINDS, 'model_version', 'dataset_version'].join(', ')})`,
  );
}
