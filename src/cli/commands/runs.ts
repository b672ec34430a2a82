import type { Command } from 'commander';
import { FalajApiError, type FalajClient } from '../../client/index.js';
import { printMessage, printResult } from '../output.js';
import { action, remoteOptions } from '../remote.js';
import { collect, keyValues, MLFLOW, resolveExperiment } from './experiments.js';

interface MlflowRun {
  info: {
    run_id: string;
    run_name: string;
    experiment_id: string;
    user_id: string;
    status: string;
    start_time: number;
    end_time?: number | null;
    lifecycle_stage: string;
  };
  data: {
    metrics?: { key: string; value: number | string; step: number; timestamp: number }[];
    params?: { key: string; value: string }[];
    tags?: { key: string; value: string }[];
  };
}

const RUN_COLUMNS = ['run_id', 'name', 'status', 'user', 'started', 'metrics'] as const;

function summary(run: MlflowRun) {
  return {
    run_id: run.info.run_id,
    name: run.info.run_name,
    status: run.info.status,
    user: run.info.user_id,
    started: new Date(run.info.start_time).toISOString(),
    metrics: Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, m.value])),
  };
}

async function getRun(client: FalajClient, runId: string): Promise<MlflowRun> {
  return (
    await client.get<{ run: MlflowRun }>(`${MLFLOW}/runs/get?${new URLSearchParams({ run_id: runId })}`)
  ).run;
}

/** All pages of runs/search, up to `max` runs. */
async function searchRuns(
  client: FalajClient,
  body: { experiment_ids: string[]; filter?: string; order_by?: string[]; run_view_type?: string },
  max: number,
): Promise<MlflowRun[]> {
  const runs: MlflowRun[] = [];
  let pageToken: string | undefined;
  do {
    const res = await client.post<{ runs?: MlflowRun[]; next_page_token?: string }>(`${MLFLOW}/runs/search`, {
      ...body,
      max_results: Math.min(1000, max - runs.length),
      ...(pageToken ? { page_token: pageToken } : {}),
    });
    runs.push(...(res.runs ?? []));
    pageToken = res.next_page_token || undefined;
  } while (pageToken && runs.length < max);
  return runs;
}

/** `--metric loss=0.3@5`: key, value and optional step. */
function parseMetric(text: string, now: number) {
  const m = /^([^=]+)=([^@]+)(?:@(\d+))?$/.exec(text);
  const value = m ? Number(m[2]) : Number.NaN;
  if (!m || (Number.isNaN(value) && m[2]!.trim().toLowerCase() !== 'nan')) {
    throw new FalajApiError(0, 'FALAJ_INVALID_ARGUMENT', `expected --metric key=value[@step], got '${text}'`);
  }
  return { key: m[1]!, value, step: m[3] ? Number(m[3]) : 0, timestamp: now };
}

export function registerRunCommands(program: Command): void {
  const runs = program.command('runs').description('Runs of an experiment: list, search, show, compare, log');

  const listLike = (name: string, description: string, withFilter: boolean) => {
    let cmd = runs
      .command(`${name} <experiment>`)
      .description(description)
      .option('--order-by <clause>', 'e.g. "metrics.auc DESC" (repeatable)', collect)
      .option('--max <n>', 'most runs to return', '100')
      .option('--view <view>', 'active, deleted or all', 'active');
    if (withFilter)
      cmd = cmd.requiredOption(
        '--filter <filter>',
        `MLflow filter, e.g. "metrics.auc > 0.9 and params.depth = '6'"`,
      );
    remoteOptions(cmd).action(
      action(async (client, opts, experiment: string) => {
        const e = await resolveExperiment(client, experiment);
        const viewType = { active: 'ACTIVE_ONLY', deleted: 'DELETED_ONLY', all: 'ALL' }[String(opts.view)];
        if (!viewType)
          throw new FalajApiError(0, 'FALAJ_INVALID_ARGUMENT', '--view must be active, deleted or all');
        const found = await searchRuns(
          client,
          {
            experiment_ids: [e.experiment_id],
            run_view_type: viewType,
            ...(opts.filter ? { filter: String(opts.filter) } : {}),
            ...(opts.orderBy ? { order_by: opts.orderBy as string[] } : {}),
          },
          Number(opts.max),
        );
        if (opts.json) printResult(found, opts);
        else printResult(found.map(summary), opts, [...RUN_COLUMNS]);
      }),
    );
  };
  listLike('list', 'List the runs of an experiment (newest first)', false);
  listLike('search', 'Search the runs of an experiment with an MLflow filter', true);

  remoteOptions(
    runs.command('show <runId>').description('A run with its params, latest metrics and tags'),
  ).action(
    action(async (client, opts, runId: string) => {
      const run = await getRun(client, runId);
      if (opts.json) return printResult(run, opts);
      printResult(summary(run), opts, [...RUN_COLUMNS]);
      const rows = [
        ...(run.data.params ?? []).map((p) => ({ kind: 'param', key: p.key, value: p.value })),
        ...(run.data.metrics ?? []).map((m) => ({
          kind: 'metric',
          key: m.key,
          value: `${m.value} (step ${m.step})`,
        })),
        ...(run.data.tags ?? []).map((t) => ({ kind: 'tag', key: t.key, value: t.value })),
      ];
      if (rows.length) printResult(rows, opts, ['kind', 'key', 'value']);
    }),
  );

  remoteOptions(
    runs.command('compare <runIds...>').description('Params and latest metrics of several runs side by side'),
  ).action(
    action(async (client, opts, runIds: string[]) => {
      const found = await Promise.all(runIds.map((id) => getRun(client, id)));
      const keys = new Map<string, string>(); // "param:depth" -> kind
      for (const r of found) {
        for (const p of r.data.params ?? []) keys.set(`params.${p.key}`, 'param');
        for (const m of r.data.metrics ?? []) keys.set(`metrics.${m.key}`, 'metric');
      }
      const table = [...keys.keys()].sort().map((key) => {
        const row: Record<string, unknown> = { key };
        for (const r of found) {
          const [kind, name] = [key.slice(0, key.indexOf('.')), key.slice(key.indexOf('.') + 1)];
          const list = kind === 'params' ? r.data.params : r.data.metrics;
          row[r.info.run_id.slice(0, 8)] = list?.find((x) => x.key === name)?.value ?? null;
        }
        return row;
      });
      if (opts.json) printResult({ runs: found.map(summary), comparison: table }, opts);
      else printResult(table, opts, ['key', ...found.map((r) => r.info.run_id.slice(0, 8))]);
    }),
  );

  remoteOptions(
    runs
      .command('create <experiment>')
      .description('Start a run (status RUNNING)')
      .option('--name <name>', 'run name')
      .option('--tag <key=value>', 'a tag (repeatable)', collect),
  ).action(
    action(async (client, opts, experiment: string) => {
      const e = await resolveExperiment(client, experiment);
      const { run } = await client.post<{ run: MlflowRun }>(`${MLFLOW}/runs/create`, {
        experiment_id: e.experiment_id,
        start_time: Date.now(),
        tags: keyValues(opts.tag as string[] | undefined),
        ...(opts.name ? { run_name: String(opts.name) } : {}),
      });
      if (opts.json) printResult(run, opts);
      else process.stdout.write(`${run.info.run_id}\n`);
    }),
  );

  remoteOptions(
    runs
      .command('log <runId>')
      .description('Log params, metrics and tags to a run in one batch')
      .option('--param <key=value>', 'a param (repeatable)', collect)
      .option('--metric <key=value[@step]>', 'a metric value (repeatable)', collect)
      .option('--tag <key=value>', 'a tag (repeatable)', collect),
  ).action(
    action(async (client, opts, runId: string) => {
      const now = Date.now();
      const metrics = ((opts.metric as string[] | undefined) ?? []).map((m) => parseMetric(m, now));
      const params = keyValues(opts.param as string[] | undefined);
      const tags = keyValues(opts.tag as string[] | undefined);
      if (!metrics.length && !params.length && !tags.length) {
        throw new FalajApiError(
          0,
          'FALAJ_INVALID_ARGUMENT',
          'nothing to log: give --param, --metric or --tag',
        );
      }
      await client.post(`${MLFLOW}/runs/log-batch`, { run_id: runId, metrics, params, tags });
      printMessage(
        `logged ${params.length} params, ${metrics.length} metrics, ${tags.length} tags to ${runId}`,
        opts,
        {
          params: params.length,
          metrics: metrics.length,
          tags: tags.length,
        },
      );
    }),
  );

  remoteOptions(
    runs
      .command('end <runId>')
      .description('End a run')
      .option('--status <status>', 'FINISHED, FAILED or KILLED', 'FINISHED'),
  ).action(
    action(async (client, opts, runId: string) => {
      await client.post(`${MLFLOW}/runs/update`, {
        run_id: runId,
        status: String(opts.status),
        end_time: Date.now(),
      });
      printMessage(`run ${runId} ${String(opts.status).toLowerCase()}`, opts);
    }),
  );

  remoteOptions(
    runs.command('history <runId> <metric>').description('Every logged value of one metric'),
  ).action(
    action(async (client, opts, runId: string, metric: string) => {
      const points: { step: number; value: number | string; timestamp: number }[] = [];
      let pageToken: string | undefined;
      do {
        const q = new URLSearchParams({
          run_id: runId,
          metric_key: metric,
          ...(pageToken ? { page_token: pageToken } : {}),
        });
        const res = await client.get<{ metrics?: typeof points; next_page_token?: string }>(
          `${MLFLOW}/metrics/get-history?${q}`,
        );
        points.push(...(res.metrics ?? []));
        pageToken = res.next_page_token || undefined;
      } while (pageToken);
      printResult(points, opts, ['step', 'value', 'timestamp']);
    }),
  );
}
