// `falaj deployments create|update|list|show|revisions|rollback|delete|public|labels|logs`: the
// deployments of a project (--project or FALAJ_PROJECT), over /api/v1/projects/:project/
// deployments. Every change is a new revision the server loads before it answers, so what these
// commands print already says whether it is serving. Clients call a deployment at
// <server>/serving/<project>/<name> (KServe V2 under /v2, MLflow scoring at /invocations).
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { FalajApiError, type FalajClient } from '../../client/index.js';
// The answers' shapes, as the server writes them (type-only: nothing of serving loads).
import type { DeploymentView } from '../../serving/deployments/deployment-views.js';
import { printMessage, printResult } from '../output.js';
import { action, type RemoteOptions, remoteOptions } from '../remote.js';

type Opts = RemoteOptions & Record<string, unknown>;

interface RevisionView {
  revision: number;
  reason: string;
  details: Record<string, unknown> | null;
  spec: DeploymentView['spec'];
  createdAt: string;
  createdBy: string;
}

const bad = (message: string) => new FalajApiError(0, 'FALAJ_INVALID_ARGUMENT', message);

function deploymentsUrl(client: FalajClient): string {
  if (!client.project) throw bad('name the project: --project NAME or FALAJ_PROJECT');
  return `/api/v1/projects/${encodeURIComponent(client.project)}/deployments`;
}

function deploymentUrl(client: FalajClient, name: string): string {
  return `${deploymentsUrl(client)}/${encodeURIComponent(name)}`;
}

/** The full URLs a client calls: the deployment's base, V2 infer and MLflow scoring. */
export function endpointsOf(client: FalajClient, d: Pick<DeploymentView, 'name' | 'url'>) {
  const base = `${client.url}${d.url}`;
  return { base, v2Infer: `${base}/v2/models/${d.name}/infer`, mlflow: `${base}/invocations` };
}

/** A number flag, checked here (the server checks the ranges, with its own stable code). */
function num(value: unknown, flag: string, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (String(value).trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)))
    throw bad(`${flag} takes ${integer ? 'a whole number' : 'a number'}, got '${String(value)}'`);
  return n;
}

function oneOf<T extends string>(value: unknown, flag: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) throw bad(`${flag} takes ${allowed.join(', ')}, got '${String(value)}'`);
  return value as T;
}

/** --max-error-rate & co., as the partial autoRollback the API merges over defaults. */
function autoRollbackFields(opts: Opts): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  const set = (key: string, v: number | undefined) => {
    if (v !== undefined) out[key] = v;
  };
  set('maxErrorRate', num(opts.maxErrorRate, '--max-error-rate'));
  set('maxP99Ms', num(opts.maxP99Ms, '--max-p99-ms'));
  set('windowSeconds', num(opts.windowSeconds, '--window-seconds', true));
  set('minRequests', num(opts.minRequests, '--min-requests', true));
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The spec fields create and update share: auto-rollback, log and placement. */
function commonChange(opts: Opts, body: Record<string, unknown>): void {
  const thresholds = autoRollbackFields(opts);
  if (opts.autoRollback === false) {
    if (thresholds) throw bad('--no-auto-rollback does not go with --max-error-rate and the like');
    body.autoRollback = null;
  } else if (opts.autoRollback === true || thresholds) body.autoRollback = thresholds ?? {};
  const sample = num(opts.logSample, '--log-sample');
  const pii = oneOf(opts.pii, '--pii', ['hash', 'drop', 'keep'] as const);
  if (sample !== undefined || pii !== undefined)
    body.log = { ...(sample !== undefined ? { sample } : {}), ...(pii !== undefined ? { pii } : {}) };
  const placement = oneOf(opts.placement, '--placement', ['embedded', 'replicas'] as const);
  if (placement) body.placement = placement;
}

/** Options create and update both take. */
function specOptions(cmd: Command): Command {
  return cmd
    .option('--max-error-rate <rate>', "auto-rollback: the canary's highest error rate (0..1, default 0.05)")
    .option('--max-p99-ms <ms>', "auto-rollback: the canary's highest p99 latency in ms (default 250)")
    .option('--window-seconds <s>', 'auto-rollback: the window judged, in seconds (default 60)')
    .option('--min-requests <n>', 'auto-rollback: canary requests needed in the window first (default 50)')
    .option(
      '--log-sample <share>',
      'share of requests written to the request log (0..1; failures always are)',
    )
    .option('--pii <policy>', 'PII-tagged input columns in the request log: hash, drop or keep')
    .option('--placement <where>', 'embedded (the API servers answer) or replicas (`falaj serve` processes)');
}

const pct = (p: number) => `${p}%`;

function printDeployment(client: FalajClient, d: DeploymentView): void {
  const s = d.spec;
  const out: string[] = [];
  out.push(`${d.name} (revision ${d.revision}): ${d.state}${d.stateReason ? ` - ${d.stateReason}` : ''}`);
  if (d.description) out.push(`description: ${d.description}`);
  out.push(`model: ${s.model}`);
  out.push(`canary: ${s.canary ? `${s.canary.model} (${pct(s.canary.percent)} of requests)` : 'none'}`);
  out.push(`shadow: ${s.shadow ? s.shadow.model : 'none'}`);
  const ar = s.autoRollback;
  out.push(
    `auto-rollback: ${
      ar
        ? `error rate > ${ar.maxErrorRate} or p99 > ${ar.maxP99Ms} ms over ${ar.windowSeconds} s (from ${ar.minRequests} canary requests)`
        : 'off'
    }`,
  );
  out.push(`request log: sample ${s.log.sample}, pii ${s.log.pii}`);
  out.push(`placement: ${s.placement}`);
  out.push(`public: ${d.public ? 'yes (callable without a token)' : 'no'}`);
  const serving = d.serving
    ? Object.entries(d.serving)
        .map(([variant, v]) => `${variant} ${v.model}@${v.version}`)
        .join(', ')
    : 'nothing yet';
  out.push(`serving: ${serving || 'nothing'}`);
  const e = endpointsOf(client, d);
  out.push(`url: ${e.base}`);
  out.push(`  V2 infer: ${e.v2Infer}`);
  out.push(`  MLflow:   ${e.mlflow}`);
  out.push(`created ${d.createdAt} by ${d.createdBy}, updated ${d.updatedAt}`);
  process.stdout.write(`${out.join('\n')}\n`);
  if (d.replicas.length > 0) {
    process.stdout.write('replicas:\n');
    printResult(d.replicas, {}, ['id', 'url', 'ready', 'revision', 'reason', 'lastSeen']);
  }
}

/** What create, update, rollback and public print: the deployment (JSON with its full URLs). */
function printChanged(client: FalajClient, d: DeploymentView, opts: Opts, verb: string): void {
  if (opts.json) {
    printResult({ ...d, endpoints: endpointsOf(client, d) }, opts);
    return;
  }
  process.stdout.write(`${verb} ${d.name}: revision ${d.revision}\n`);
  printDeployment(client, d);
}

function specSummary(s: DeploymentView['spec']): string {
  return [
    s.model,
    s.canary ? `canary ${s.canary.model} ${pct(s.canary.percent)}` : '',
    s.shadow ? `shadow ${s.shadow.model}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function registerDeploymentCommands(program: Command): void {
  const deployments = program
    .command('deployments')
    .description(
      'Deployments of a project (--project or FALAJ_PROJECT): models served over KServe V2 and MLflow scoring, canary, shadow, rollback',
    );

  remoteOptions(
    specOptions(
      deployments
        .command('create <name>')
        .description('Deploy a model version (MODEL@VERSION) or alias (MODEL@ALIAS, followed when it moves)')
        .requiredOption('--model <ref>', 'MODEL@VERSION or MODEL@ALIAS')
        .option('--description <text>', 'what this deployment is for')
        .option('--canary <ref>', 'a canary model answering --percent of the requests')
        .option('--percent <p>', "the canary's share of requests (above 0, below 100)")
        .option('--shadow <ref>', 'a shadow model that sees every request; its answers are only logged')
        .option('--auto-rollback', 'remove the canary when it errs or slows past the thresholds'),
    ),
  ).action(
    action(async (client, opts, name: string) => {
      const body: Record<string, unknown> = { name, model: String(opts.model) };
      if (opts.description !== undefined) body.description = String(opts.description);
      const percent = num(opts.percent, '--percent');
      if (opts.canary !== undefined) {
        if (percent === undefined) throw bad('--canary needs --percent P (the share of requests it answers)');
        body.canary = { model: String(opts.canary), percent };
      } else if (percent !== undefined) throw bad('--percent goes with --canary MODEL@VERSION');
      if (opts.shadow !== undefined) body.shadow = { model: String(opts.shadow) };
      commonChange(opts, body);
      const d = await client.post<DeploymentView>(deploymentsUrl(client), body);
      printChanged(client, d, opts, 'created');
    }),
  );

  remoteOptions(
    specOptions(
      deployments
        .command('update <name>')
        .description(
          'Change a deployment (a new revision): --model (blue/green), --canary M@V --percent P, --promote-canary, --shadow, auto-rollback, log, placement',
        )
        .option('--model <ref>', 'serve this model instead (MODEL@VERSION or MODEL@ALIAS)')
        .option('--canary <ref>', 'a canary model answering --percent of the requests')
        .option('--no-canary', 'remove the canary')
        .option('--percent <p>', "the canary's share of requests (alone: change the current canary's)")
        .option('--promote-canary', "the canary's model becomes the model; the canary is removed")
        .option('--shadow <ref>', 'a shadow model that sees every request; its answers are only logged')
        .option('--no-shadow', 'remove the shadow')
        .option('--auto-rollback', 'turn automatic rollback of the canary on')
        .option('--no-auto-rollback', 'turn automatic rollback of the canary off'),
    ),
  ).action(
    action(async (client, opts, name: string) => {
      const body: Record<string, unknown> = {};
      if (opts.model !== undefined) body.model = String(opts.model);
      const percent = num(opts.percent, '--percent');
      if (opts.canary === false) {
        if (percent !== undefined) throw bad('--no-canary does not go with --percent');
        body.canary = null;
      } else if (opts.canary !== undefined || percent !== undefined) {
        let model = opts.canary as string | undefined;
        let share = percent;
        if (model === undefined || share === undefined) {
          // One of the two: the other is the current canary's.
          const current = await client.get<DeploymentView>(deploymentUrl(client, name));
          if (!current.spec.canary)
            throw bad(
              model === undefined
                ? `${name} has no canary: give --canary MODEL@VERSION with --percent`
                : '--canary needs --percent P (the share of requests it answers)',
            );
          model ??= current.spec.canary.model;
          share ??= current.spec.canary.percent;
        }
        body.canary = { model, percent: share };
      }
      if (opts.promoteCanary) body.promoteCanary = true;
      if (opts.shadow === false) body.shadow = null;
      else if (opts.shadow !== undefined) body.shadow = { model: String(opts.shadow) };
      commonChange(opts, body);
      if (Object.keys(body).length === 0)
        throw bad(
          'nothing to change: give --model, --canary/--percent, --no-canary, --promote-canary, --shadow, --no-shadow, --auto-rollback, --log-sample, --pii or --placement',
        );
      const d = await client.patch<DeploymentView>(deploymentUrl(client, name), body);
      printChanged(client, d, opts, 'updated');
    }),
  );

  remoteOptions(deployments.command('list').description("The project's deployments")).action(
    action(async (client, opts) => {
      const { deployments: list } = await client.get<{ deployments: DeploymentView[] }>(
        deploymentsUrl(client),
      );
      if (opts.json) return printResult(list, opts);
      printResult(
        list.map((d) => ({
          name: d.name,
          revision: d.revision,
          state: d.state,
          public: d.public ? 'yes' : 'no',
          serving: d.serving
            ? Object.entries(d.serving)
                .map(([variant, v]) => `${variant}=${v.model}@${v.version}`)
                .join(',') || '-'
            : '-',
          spec: specSummary(d.spec),
          url: endpointsOf(client, d).base,
        })),
        opts,
        ['name', 'revision', 'state', 'public', 'serving', 'spec', 'url'],
      );
    }),
  );

  remoteOptions(
    deployments
      .command('show <name>')
      .description('A deployment: spec, state and reason, versions serving per variant, replicas, URLs'),
  ).action(
    action(async (client, opts, name: string) => {
      const d = await client.get<DeploymentView>(deploymentUrl(client, name));
      if (opts.json) return printResult({ ...d, endpoints: endpointsOf(client, d) }, opts);
      printDeployment(client, d);
    }),
  );

  remoteOptions(
    deployments.command('revisions <name>').description("A deployment's revisions, newest first"),
  ).action(
    action(async (client, opts, name: string) => {
      const { revisions } = await client.get<{ revisions: RevisionView[] }>(
        `${deploymentUrl(client, name)}/revisions`,
      );
      if (opts.json) return printResult(revisions, opts);
      printResult(
        revisions.map((r) => ({
          revision: r.revision,
          reason: r.reason,
          spec: specSummary(r.spec),
          details: r.details,
          created: r.createdAt,
          by: r.createdBy,
        })),
        opts,
        ['revision', 'reason', 'spec', 'details', 'created', 'by'],
      );
    }),
  );

  remoteOptions(
    deployments
      .command('rollback <name>')
      .description('Restore the previous revision (or --to REVISION) as a new revision')
      .option('--to <revision>', 'the revision to restore'),
  ).action(
    action(async (client, opts, name: string) => {
      const to = num(opts.to, '--to', true);
      const d = await client.post<DeploymentView>(
        `${deploymentUrl(client, name)}/rollback`,
        to !== undefined ? { revision: to } : {},
      );
      printChanged(client, d, opts, 'rolled back');
    }),
  );

  remoteOptions(
    deployments
      .command('delete <name>')
      .description('Delete a deployment: it stops serving (asks first on a terminal; --yes otherwise)')
      .option('--yes', 'do not ask'),
  ).action(
    action(async (client, opts, name: string) => {
      if (!opts.yes) {
        if (!process.stdin.isTTY || opts.json)
          throw bad(`deleting ${name} stops its serving: confirm with --yes`);
        if (!(await confirm(`Delete deployment ${name} of ${client.project}? It stops serving. [y/N] `))) {
          process.stderr.write('not deleted\n');
          process.exitCode = 1;
          return;
        }
      }
      await client.delete(deploymentUrl(client, name));
      printMessage(`deleted deployment ${name}`, opts, { name, deleted: true });
    }),
  );

  remoteOptions(
    deployments
      .command('public <name>')
      .description(
        'Make a deployment callable without a token (--on) or not (--off); project admins, audited',
      )
      .option('--on', 'callable without a token')
      .option('--off', 'a token is needed again'),
  ).action(
    action(async (client, opts, name: string) => {
      if (Boolean(opts.on) === Boolean(opts.off)) throw bad('give one of --on or --off');
      const d = await client.put<DeploymentView>(`${deploymentUrl(client, name)}/public`, {
        public: Boolean(opts.on),
      });
      if (opts.json) return printResult({ ...d, endpoints: endpointsOf(client, d) }, opts);
      printMessage(
        d.public
          ? `${name} is public: anyone reaching ${endpointsOf(client, d).base} may call it`
          : `${name} is no longer public: calls need a token`,
        opts,
      );
    }),
  );

  remoteOptions(
    deployments
      .command('labels <name>')
      .description(
        'Ground truth for logged requests: a file (--file: CSV with header request_id,label[,row], or JSON lines) or one (--request-id ID --label L [--row N])',
      )
      .option('--file <file>', '.csv, or .jsonl/.ndjson ({request_id, label, row?} per line)')
      .option('--request-id <id>', "the request's id (its answer's X-Request-Id)")
      .option('--label <label>', 'the true outcome (a number is sent as a number)')
      .option('--row <n>', 'the row of the request (default 0)'),
  ).action(
    action(async (client, opts, name: string) => {
      const url = `${deploymentUrl(client, name)}/labels`;
      const file = opts.file as string | undefined;
      let res: Record<string, unknown>;
      if (file) {
        if (opts.requestId !== undefined || opts.label !== undefined)
          throw bad('give --file, or --request-id with --label, not both');
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch {
          throw bad(`cannot read ${file}`);
        }
        const csv =
          /\.csv$/i.test(file) ||
          (!/\.(jsonl|ndjson|json)$/i.test(file) && !text.trimStart().startsWith('{'));
        res = await client.request<Record<string, unknown>>('POST', `${url}/file`, {
          body: { body: text, headers: { 'content-type': csv ? 'text/csv' : 'application/x-ndjson' } },
        });
      } else {
        if (opts.requestId === undefined || opts.label === undefined)
          throw bad('give --file F, or --request-id ID with --label L');
        const raw = String(opts.label);
        const label = raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
        const row = num(opts.row, '--row', true);
        res = await client.post<Record<string, unknown>>(url, {
          labels: [{ request_id: String(opts.requestId), label, ...(row !== undefined ? { row } : {}) }],
        });
      }
      if (opts.json) return printResult(res, opts);
      const n = res.recorded ?? res.count ?? res.labels;
      printMessage(
        typeof n === 'number' ? `recorded ${n} label${n === 1 ? '' : 's'} for ${name}` : JSON.stringify(res),
        opts,
      );
    }),
  );

  remoteOptions(
    deployments
      .command('logs <name>')
      .description(
        "The request log's newest rows, with labels where they arrived (written in batches: a request shows up a few seconds after its answer)",
      )
      .option('--limit <n>', 'rows (default 100, at most 10000)')
      .option('--from <time>', 'from this time (ISO 8601 or epoch ms)')
      .option('--to <time>', 'until this time (ISO 8601 or epoch ms)'),
  ).action(
    action(async (client, opts, name: string) => {
      const limit = num(opts.limit, '--limit', true);
      const time = (v: unknown, flag: string) => {
        if (v === undefined) return undefined;
        const s = String(v);
        const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
        if (!Number.isFinite(ms)) throw bad(`${flag} takes an ISO 8601 time or epoch ms, got '${s}'`);
        return ms;
      };
      const { requests } = await client.request<{ requests: Record<string, unknown>[] }>(
        'GET',
        `${deploymentUrl(client, name)}/requests`,
        { query: { limit, from: time(opts.from, '--from'), to: time(opts.to, '--to') } },
      );
      if (opts.json) return printResult(requests, opts);
      if (requests.length === 0) {
        process.stdout.write(`no logged requests for ${name} yet\n`);
        return;
      }
      printResult(requests, opts, [
        'time',
        'request_id',
        'row',
        'variant',
        'model',
        'model_version',
        'status',
        'latency_ms',
        'label',
        'error',
      ]);
    }),
  );
}
