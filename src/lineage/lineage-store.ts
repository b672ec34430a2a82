// The lineage graph: every edge the platform sees between two things it knows. Domains record
// edges where they create the link (a run reading a dataset version, a job producing a run, a
// run registered as a model version); nothing is inferred afterwards. An edge is recorded once:
// recording it again (a retried request) changes nothing.
import type { Executor } from '../store/executor.js';

/** The kinds of node the graph links. */
export const NODE_KINDS = [
  'dataset_version',
  'file',
  'code',
  'job',
  'run',
  'model_version',
  'deployment',
] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

/** What an edge means, read from `from` to `to`. */
export type Relation = 'input' | 'ran' | 'produced' | 'registered' | 'evaluated' | 'deployed';

export interface LineageNode {
  kind: NodeKind;
  id: string;
}

export interface LineageEdge {
  from: LineageNode;
  to: LineageNode;
  relation: Relation;
  /** What the edge carries: a digest, a row count, a path. */
  attrs?: Record<string, unknown>;
}

export async function recordEdge(
  db: Executor,
  projectId: string,
  edge: LineageEdge,
  now: number,
): Promise<void> {
  await db
    .insertInto('lineage_edges')
    .values({
      project_id: projectId,
      from_kind: edge.from.kind,
      from_id: edge.from.id,
      to_kind: edge.to.kind,
      to_id: edge.to.id,
      relation: edge.relation,
      attrs: JSON.stringify(edge.attrs ?? {}),
      created_at: now,
    })
    .onConflict((oc) => oc.columns(['from_kind', 'from_id', 'to_kind', 'to_id', 'relation']).doNothing())
    .execute();
}

export interface StoredEdge extends LineageEdge {
  createdAt: number;
}

/**
 * The edges reachable from `node`, walking towards its inputs (`up`) or its products (`down`),
 * breadth first, at most `depth` steps and `limit` edges; only the project's own edges.
 */
export async function walk(
  db: Executor,
  projectId: string,
  node: LineageNode,
  direction: 'up' | 'down',
  opts: { depth?: number; limit?: number } = {},
): Promise<StoredEdge[]> {
  const depth = opts.depth ?? 20;
  const limit = opts.limit ?? 1000;
  const seen = new Set<string>([`${node.kind}:${node.id}`]);
  const edges: StoredEdge[] = [];
  let frontier: LineageNode[] = [node];
  for (let step = 0; step < depth && frontier.length > 0 && edges.length < limit; step++) {
    const next: LineageNode[] = [];
    for (const n of frontier) {
      const rows = await db
        .selectFrom('lineage_edges')
        .selectAll()
        .where('project_id', '=', projectId)
        .where(direction === 'up' ? 'to_kind' : 'from_kind', '=', n.kind)
        .where(direction === 'up' ? 'to_id' : 'from_id', '=', n.id)
        .orderBy('created_at')
        .execute();
      for (const r of rows) {
        if (edges.length >= limit) break;
        const edge: StoredEdge = {
          from: { kind: r.from_kind as NodeKind, id: r.from_id },
          to: { kind: r.to_kind as NodeKind, id: r.to_id },
          relation: r.relation as Relation,
          attrs: JSON.parse(r.attrs) as Record<string, unknown>,
          createdAt: Number(r.created_at),
        };
        edges.push(edge);
        const other = direction === 'up' ? edge.from : edge.to;
        const key = `${other.kind}:${other.id}`;
        if (!seen.has(key)) {
          seen.add(key);
          next.push(other);
        }
      }
    }
    frontier = next;
  }
  return edges;
}

/** `kind:id`, the key a node is known by in a graph. */
export function nodeKey(node: LineageNode): string {
  return `${node.kind}:${node.id}`;
}

/** Whether any of the project's edges starts or ends at `node` (nodes kept nowhere else: code, files). */
export async function hasNode(db: Executor, projectId: string, node: LineageNode): Promise<boolean> {
  const row = await db
    .selectFrom('lineage_edges')
    .select('from_id')
    .where('project_id', '=', projectId)
    .where((eb) =>
      eb.or([
        eb.and([eb('from_kind', '=', node.kind), eb('from_id', '=', node.id)]),
        eb.and([eb('to_kind', '=', node.kind), eb('to_id', '=', node.id)]),
      ]),
    )
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
