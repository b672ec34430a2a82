import type { Command } from 'commander';
import { FalajApiError, type FalajClient } from '../../client/index.js';
import { printMessage, printResult } from '../output.js';
import { action, remoteOptions } from '../remote.js';

export const MLFLOW = '/api/2.0/mlflow';

export interface MlflowExperiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: string;
  creation_time: number;
  last_update_time: number;
  tags?: { key: string; value: string }[];
}

/** An experiment given by name or by id (names are tried first: they are what people type). */
export async function resolveExperiment(client: FalajClient, nameOrId: string): Promise<MlflowExperiment> {
  try {
    const q = new URLSearchParams({ experiment_name: nameOrId });
    return (await client.get<{ experiment: MlflowExperiment }>(`${MLFLOW}/experiments/get-by-name?${q}`))
      .experiment;
  } catch (err) {
    if (!(err instanceof FalajApiError) || err.status !== 404) throw err;
    const q = new URLSearchParams({ experiment_id: nameOrId });
    return (await client.get<{ experiment: MlflowExperiment }>(`${MLFLOW}/experiments/get?${q}`)).experiment;
  }
}

/** `k=v` pairs from repeated options. */
export function keyValues(pairs: string[] | undefined): { key: string; value: string }[] {
  return (pairs ?? []).map((p) => {
    const i = p.indexOf('=');
    if (i <= 0) throw new FalajApiError(0, 'FALAJ_INVALID_ARGUMENT', `expected key=value, got '${p}'`);
    return { key: p.slice(0, i), value: p.slice(i + 1) };
  });
}

export const collect = (value: string, previous: string[] = []) => [...previous, value];

const view = (e: MlflowExperiment) => ({
  id: e.experiment_id,
  name: e.name,
  stage: e.lifecycle_stage,
  created: new Date(e.creation_time).toISOString(),
  tags: Object.fromEntries((e.tags ?? []).map((t) => [t.key, t.value])),
});

export function registerExperimentCommands(program: Command): void {
  const experiments = program
    .command('experiments')
    .description('Experiments of a project (the MLflow tracking API; --project or a project token)');

  remoteOptions(
    experiments
      .command('list')
      .description('List experiments')
      .option('--view <view>', 'active, deleted or all', 'active'),
  ).action(
    action(async (client, opts) => {
      const viewType = { active: 'ACTIVE_ONLY', deleted: 'DELETED_ONLY', all: 'ALL' }[String(opts.view)];
      if (!viewType)
        throw new FalajApiError(0, 'FALAJ_INVALID_ARGUMENT', '--view must be active, deleted or all');
      const all: MlflowExperiment[] = [];
      let pageToken: string | undefined;
      do {
        const res = await client.post<{ experiments?: MlflowExperiment[]; next_page_token?: string }>(
          `${MLFLOW}/experiments/search`,
          { max_results: 1000, view_type: viewType, ...(pageToken ? { page_token: pageToken } : {}) },
        );
        all.push(...(res.experiments ?? []));
        pageToken = res.next_page_token || undefined;
      } while (pageToken);
      printResult(all.map(view), opts, ['id', 'name', 'stage', 'created']);
    }),
  );

  remoteOptions(
    experiments
      .command('create <name>')
      .description('Create an experiment')
      .option('--tag <key=value>', 'a tag (repeatable)', collect),
  ).action(
    action(async (client, opts, name: string) => {
      const res = await client.post<{ experiment_id: string }>(`${MLFLOW}/experiments/create`, {
        name,
        tags: keyValues(opts.tag as string[] | undefined),
      });
      printMessage(`created experiment ${name} (${res.experiment_id})`, opts, {
        id: res.experiment_id,
        name,
      });
    }),
  );

  remoteOptions(experiments.command('show <nameOrId>').description('Show an experiment')).action(
    action(async (client, opts, nameOrId: string) => {
      printResult(view(await resolveExperiment(client, nameOrId)), opts, [
        'id',
        'name',
        'stage',
        'created',
        'tags',
      ]);
    }),
  );

  remoteOptions(
    experiments.command('rename <nameOrId> <newName>').description('Rename an experiment'),
  ).action(
    action(async (client, opts, nameOrId: string, newName: string) => {
      const e = await resolveExperiment(client, nameOrId);
      await client.post(`${MLFLOW}/experiments/update`, {
        experiment_id: e.experiment_id,
        new_name: newName,
      });
      printMessage(`renamed ${e.name} to ${newName}`, opts);
    }),
  );

  for (const verb of ['delete', 'restore'] as const) {
    remoteOptions(
      experiments
        .command(`${verb} <nameOrId>`)
        .description(`${verb === 'delete' ? 'Delete' : 'Restore'} an experiment`),
    ).action(
      action(async (client, opts, nameOrId: string) => {
        const e = await resolveExperiment(client, nameOrId);
        await client.post(`${MLFLOW}/experiments/${verb}`, { experiment_id: e.experiment_id });
        printMessage(`${verb === 'delete' ? 'deleted' : 'restored'} experiment ${e.name}`, opts);
      }),
    );
  }
}
