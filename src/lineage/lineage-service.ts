// The lineage graph as people read it: a node named by a human reference (model fraud@3,
// dataset fraud-data@2, run, job) resolved to its stored id, the edges walked from it, and every
// node labelled with what it is called elsewhere (model name@version, dataset name@version, run
// name, job name). The names are read through each domain's own store functions.
import { FalajError, isFalajError } from '../core/errors.js';
import { findDatasetVersion } from '../data/dataset-store.js';
import { versionSummaries } from '../data/version-service.js';
import type { Services } from '../http/services.js';
import { JobStore } from '../jobs/job-store.js';
import { modelsByIds } from '../registry/model-store.js';
import { resolveModelUri } from '../registry/model-uri.js';
import { getVersionById, versionsByIds } from '../registry/version-store.js';
import type { Executor } from '../store/executor.js';
import { loadRuns } from '../tracking/run-loader.js';
import { requireRunIn } from '../tracking/run-store.js';
import {
  hasNode,
  type LineageNode,
  type NodeKind,
  nodeKey,
  type Relation,
  type StoredEdge,
  walk,
} from './lineage-store.js';
import { invalidNode, parseNodeRef } from './node-ref.js';

export interface LabelledNode extends LineageNode {
  label: string;
}

export interface GraphEdge {
  from: LineageNode;
  to: LineageNode;
  relation: Relation;
  attrs: Record<string, unknown>;
  createdAt: string;
}

export interface LineageGraph {
  root: LabelledNode;
  direction: 'up' | 'down';
  depth: number;
  nodes: LabelledNode[];
  edges: GraphEdge[];
  /** True when the walk stopped at `limit` edges: the graph goes on. */
  truncated: boolean;
}

/** The codes the domains use for "no such thing", all answered as an unknown lineage node. */
const NOT_FOUND_CODES = new Set([
  'FALAJ_NOT_FOUND',
  'FALAJ_MODEL_NOT_FOUND',
  'FALAJ_MODEL_VERSION_NOT_FOUND',
  'FALAJ_ALIAS_NOT_FOUND',
]);

function nodeNotFound(text: string, why: string, cause = 'FALAJ_NOT_FOUND'): FalajError {
  return new FalajError('FALAJ_LINEAGE_NODE_NOT_FOUND', `lineage node '${text.slice(0, 300)}': ${why}`, {
    node: text.slice(0, 300),
    cause,
  });
}

/** Runs a domain's lookup; its "not found" and "invalid reference" become the lineage codes. */
async function lookup<T>(text: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isFalajError(err) && NOT_FOUND_CODES.has(err.code)) throw nodeNotFound(text, err.message, err.code);
    if (isFalajError(err) && err.code === 'FALAJ_MODEL_URI_INVALID') throw invalidNode(text, err.message);
    throw err;
  }
}

/**
 * The stored node a reference names in the project: FALAJ_LINEAGE_NODE_INVALID when it is not
 * written as one, FALAJ_LINEAGE_NODE_NOT_FOUND when it names nothing there.
 */
export async function resolveNode(
  svc: Services,
  db: Executor,
  projectId: string,
  text: string,
): Promise<LineageNode> {
  const ref = parseNodeRef(text);
  switch (ref.kind) {
    case 'model': {
      const v = await lookup(text, () => resolveModelUri(db, projectId, ref.ref));
      return { kind: 'model_version', id: v.id };
    }
    case 'dataset': {
      const { v } = await lookup(text, () => findDatasetVersion(db, projectId, ref.dataset, ref.version));
      return { kind: 'dataset_version', id: v.id };
    }
  }
  const node: LineageNode = { kind: ref.kind, id: ref.id };
  let found: boolean;
  switch (node.kind) {
    case 'run':
      await lookup(text, () => requireRunIn(db, projectId, node.id));
      return node;
    case 'job':
      await lookup(text, () => new JobStore(svc).get(db, projectId, node.id));
      return node;
    case 'model_version': {
      const v = await getVersionById(db, node.id);
      const [model] = v ? await modelsByIds(db, [v.model_id]) : [];
      found = model?.project_id === projectId;
      break;
    }
    case 'dataset_version':
      found = (await versionSummaries(db, projectId, [node.id])).has(node.id);
      break;
    default:
      // Code snapshots, files and deployments are known to the graph by its edges only.
      found = await hasNode(db, projectId, node);
  }
  if (!found) throw nodeNotFound(text, `no ${node.kind.replace('_', ' ')} '${node.id.slice(0, 100)}' here`);
  return node;
}

const short = (id: string) => (id.length > 12 ? id.slice(0, 12) : id);

/** A label for every node: what it is called where it lives; `(deleted)` for what is gone. */
export async function labelNodes(
  svc: Services,
  db: Executor,
  projectId: string,
  nodes: readonly LineageNode[],
  edges: readonly StoredEdge[] = [],
): Promise<Map<string, string>> {
  const ids = (kind: NodeKind) => nodes.filter((n) => n.kind === kind).map((n) => n.id);
  const labels = new Map<string, string>();
  const set = (kind: NodeKind, id: string, label: string) => labels.set(nodeKey({ kind, id }), label);

  const versions = await versionsByIds(db, ids('model_version'));
  const models = new Map(
    (await modelsByIds(db, [...new Set(versions.map((v) => v.model_id))]))
      .filter((m) => m.project_id === projectId)
      .map((m) => [m.id, m.name]),
  );
  for (const v of versions) {
    const name = models.get(v.model_id);
    if (name !== undefined) set('model_version', v.id, `${name}@${v.version}`);
  }
  for (const v of (await versionSummaries(db, projectId, ids('dataset_version'))).values())
    set('dataset_version', v.id, `${v.dataset}@${v.version}`);
  for (const r of await loadRuns(db, ids('run')))
    if (r.info.project_id === projectId) set('run', r.info.id, r.info.name || short(r.info.id));
  const jobs = new JobStore(svc);
  for (const id of ids('job')) {
    const job = await jobs.get(db, projectId, id).catch(() => undefined);
    if (job) set('job', id, job.name);
  }
  // A code snapshot is known by the artifact path it was submitted as.
  for (const e of edges) {
    const artifact = e.attrs?.artifact;
    if (e.from.kind === 'code' && typeof artifact === 'string') set('code', e.from.id, artifact);
  }
  for (const n of nodes) {
    const key = nodeKey(n);
    if (labels.has(key)) continue;
    const keptByEdges = n.kind === 'code' || n.kind === 'file' || n.kind === 'deployment';
    labels.set(key, keptByEdges ? `${n.kind} ${short(n.id)}` : `${short(n.id)} (deleted)`);
  }
  return labels;
}

/** The graph around the node a reference names, walked `up` (its inputs) or `down` (its products). */
export async function lineageGraph(
  svc: Services,
  projectId: string,
  text: string,
  opts: { direction: 'up' | 'down'; depth: number; limit?: number },
): Promise<LineageGraph> {
  const db = svc.store.db;
  const limit = opts.limit ?? 1000;
  const root = await resolveNode(svc, db, projectId, text);
  const edges = await walk(db, projectId, root, opts.direction, { depth: opts.depth, limit });
  const nodes = new Map<string, LineageNode>([[nodeKey(root), root]]);
  for (const e of edges) for (const n of [e.from, e.to]) if (!nodes.has(nodeKey(n))) nodes.set(nodeKey(n), n);
  const labels = await labelNodes(svc, db, projectId, [...nodes.values()], edges);
  const labelled = (n: LineageNode): LabelledNode => ({
    kind: n.kind,
    id: n.id,
    label: labels.get(nodeKey(n)) ?? n.id,
  });
  return {
    root: labelled(root),
    direction: opts.direction,
    depth: opts.depth,
    nodes: [...nodes.values()].map(labelled),
    edges: edges.map((e) => ({
      from: e.from,
      to: e.to,
      relation: e.relation,
      attrs: e.attrs ?? {},
      createdAt: new Date(e.createdAt).toISOString(),
    })),
    truncated: edges.length >= limit,
  };
}
