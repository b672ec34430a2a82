// `falaj lineage model fraud@3 [--down] [--depth N] [--json]` (and `dataset NAME@N`, `run ID`,
// `job ID`, `code DIGEST`): the lineage graph of a project (--project or FALAJ_PROJECT) from one
// node, printed as an indented tree; --json prints the API's answer. Also what `falaj train`
// uses to record a dataset version as its run's input.
import type { Command } from 'commander';
import { FalajApiError, type FalajClient } from '../../client/index.js';
import { action, remoteOptions } from '../remote.js';

interface GraphNode {
  kind: string;
  id: string;
  label: string;
}

interface GraphEdge {
  from: { kind: string; id: string };
  to: { kind: string; id: string };
  relation: string;
  attrs: Record<string, unknown>;
  createdAt: string;
}

/** What `GET /api/v1/projects/:p/lineage` answers. */
export interface LineageGraph {
  root: GraphNode;
  direction: 'up' | 'down';
  depth: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
  truncated: boolean;
}

function projectUrl(client: FalajClient): string {
  if (!client.project)
    throw new FalajApiError(0, 'FALAJ_INVALID_ARGUMENT', 'name the project: --project NAME or FALAJ_PROJECT');
  return `/api/v1/projects/${encodeURIComponent(client.project)}`;
}

export function fetchLineage(
  client: FalajClient,
  node: string,
  opts: { direction?: 'up' | 'down'; depth?: number } = {},
): Promise<LineageGraph> {
  return client.request<LineageGraph>('GET', `${projectUrl(client)}/lineage`, {
    query: {
      node,
      ...(opts.direction ? { direction: opts.direction } : {}),
      ...(opts.depth !== undefined ? { depth: opts.depth } : {}),
    },
  });
}

/** What the server recorded for a run's dataset input. */
export interface RecordedInput {
  runId: string;
  dataset: string;
  version: number;
  digest: string;
  rows: number;
}

/**
 * Records a dataset version as the run's training input: the run's MLflow dataset input and the
 * lineage edge dataset_version → run. The server applies the training gate again.
 */
export function recordRunInput(
  client: FalajClient,
  runId: string,
  v: { dataset: string; version: number },
): Promise<RecordedInput> {
  return client.post<RecordedInput>(`${projectUrl(client)}/runs/${encodeURIComponent(runId)}/inputs`, {
    dataset: v.dataset,
    version: v.version,
  });
}

/** Whether the run already has the dataset version of this digest as an input (recorded by a submitter). */
export async function inputRecorded(client: FalajClient, runId: string, digest: string): Promise<boolean> {
  const graph = await fetchLineage(client, `run:${runId}`, { direction: 'up', depth: 1 });
  return graph.edges.some((e) => e.from.kind === 'dataset_version' && e.attrs.digest === digest);
}

const KIND_NAMES: Record<string, string> = { model_version: 'model', dataset_version: 'dataset' };

function describeNode(n: GraphNode | undefined, fallback: { kind: string; id: string }): string {
  const kind = KIND_NAMES[fallback.kind] ?? fallback.kind;
  if (!n) return `${kind} ${fallback.id}`;
  // Runs and jobs are named by people, and names repeat: their id tells them apart.
  const id = n.kind === 'run' || n.kind === 'job' ? ` (${n.id.slice(0, 12)})` : '';
  return `${kind} ${n.label}${id}`;
}

function describeEdge(e: GraphEdge): string {
  const parts = [e.relation];
  const { digest, rows, path } = e.attrs;
  if (typeof digest === 'string') parts.push(`sha256 ${digest.slice(0, 12)}`);
  if (typeof rows === 'number') parts.push(`${rows} rows`);
  if (typeof path === 'string') parts.push(path);
  return `[${parts.join(', ')}]`;
}

/** The graph as an indented tree from its root; a node met twice is printed once, then referred to. */
export function renderLineageTree(g: LineageGraph): string {
  const key = (n: { kind: string; id: string }) => `${n.kind}:${n.id}`;
  const nodes = new Map(g.nodes.map((n) => [key(n), n]));
  const up = g.direction === 'up';
  const children = new Map<string, GraphEdge[]>();
  for (const e of g.edges) {
    const parent = key(up ? e.to : e.from);
    const list = children.get(parent) ?? [];
    list.push(e);
    children.set(parent, list);
  }
  const lines = [describeNode(g.root, g.root)];
  const seen = new Set([key(g.root)]);
  const visit = (parent: string, prefix: string) => {
    const list = children.get(parent) ?? [];
    list.forEach((e, i) => {
      const last = i === list.length - 1;
      const child = up ? e.from : e.to;
      const k = key(child);
      const again = seen.has(k);
      lines.push(
        `${prefix}${last ? '└─ ' : '├─ '}${describeNode(nodes.get(k), child)}  ${describeEdge(e)}${again ? ' (shown above)' : ''}`,
      );
      if (again) return;
      seen.add(k);
      visit(k, `${prefix}${last ? '   ' : '│  '}`);
    });
  };
  visit(key(g.root), '');
  if (g.edges.length === 0) lines.push(up ? '(no recorded inputs)' : '(nothing recorded from it)');
  if (g.truncated) lines.push('… the graph goes on beyond the edge limit (use --depth, or --json)');
  return `${lines.join('\n')}\n`;
}

const KINDS: { name: string; arg: string; description: string }[] = [
  { name: 'model', arg: '<ref>', description: 'a model version: NAME@VERSION, NAME@ALIAS or NAME@latest' },
  {
    name: 'dataset',
    arg: '<ref>',
    description: 'a dataset version: NAME@N, NAME@latest or NAME (its newest)',
  },
  { name: 'run', arg: '<id>', description: 'a tracking run' },
  { name: 'job', arg: '<id>', description: 'a job' },
  { name: 'code', arg: '<digest>', description: "a job's code snapshot (its SHA-256)" },
];

export function registerLineageCommands(program: Command): void {
  const lineage = program
    .command('lineage')
    .description(
      'Lineage of a project (--project or FALAJ_PROJECT): what a model, dataset version, run or job came from (default) or led to (--down)',
    );
  for (const k of KINDS) {
    remoteOptions(
      lineage
        .command(`${k.name} ${k.arg}`)
        .description(`The lineage of ${k.description}`)
        .option('--down', 'walk towards what it produced instead of what it came from')
        .option('--depth <n>', 'at most this many steps (1-100, default 20)'),
    ).action(
      action(async (client, opts, ref: string) => {
        let depth: number | undefined;
        if (opts.depth !== undefined) {
          depth = Number(opts.depth);
          if (!Number.isInteger(depth) || depth < 1 || depth > 100)
            throw new FalajApiError(
              0,
              'FALAJ_INVALID_ARGUMENT',
              `--depth must be an integer from 1 to 100 (got '${String(opts.depth)}')`,
            );
        }
        const graph = await fetchLineage(client, `${k.name}:${ref}`, {
          direction: opts.down ? 'down' : 'up',
          ...(depth !== undefined ? { depth } : {}),
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(graph, null, 2)}\n`);
        else process.stdout.write(renderLineageTree(graph));
      }),
    );
  }
}
