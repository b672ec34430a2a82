import { FalajError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { Executor } from '../store/executor.js';
import type { RunsTable } from '../store/schema.js';
import type { ExperimentStore } from './experiment-store.js';
import { generateRunName } from './run-names.js';
import { invalid, type KeyValue } from './validation.js';

export const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** MLflow's reserved tags that mirror run columns. */
export const RUN_NAME_TAG = 'mlflow.runName';
export const PARENT_RUN_TAG = 'mlflow.parentRunId';

export function runNotFound(id: string): FalajError {
  return new FalajError('FALAJ_NOT_FOUND', `Run '${id}' not found`);
}

/** Throws `runNotFound` unless the run is one of the project's; reads only its id. */
export async function requireRunIn(db: Executor, projectId: string, id: string): Promise<void> {
  const run = await db
    .selectFrom('runs')
    .select('id')
    .where('id', '=', id)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  if (!run) throw runNotFound(id);
}

export interface DatasetInput {
  tags: KeyValue[];
  dataset: {
    name: string;
    digest: string;
    sourceType: string;
    source: string;
    schema: string | null;
    profile: string | null;
  };
}

/** Runs of one project and what is logged to them apart from metrics (see metric-store.ts). */
export class RunStore {
  constructor(private readonly experiments: ExperimentStore) {}

  async create(
    tx: Executor,
    p: {
      projectId: string;
      projectName: string;
      experimentId: string;
      userId: string;
      runName?: string | undefined;
      startTime: number;
      tags: KeyValue[];
    },
  ): Promise<string> {
    await this.experiments.requireActive(tx, p.projectId, p.experimentId);
    const tags = new Map(p.tags.map((t) => [t.key, t.value]));
    const tagName = tags.get(RUN_NAME_TAG);
    if (p.runName && tagName !== undefined && tagName !== p.runName) {
      throw invalid(
        `Both 'run_name' argument and '${RUN_NAME_TAG}' tag are specified, but with different values (run_name='${p.runName}', ${RUN_NAME_TAG}='${tagName}').`,
      );
    }
    const name = p.runName || tagName || generateRunName();
    tags.set(RUN_NAME_TAG, name);
    const id = newId();
    await tx
      .insertInto('runs')
      .values({
        id,
        experiment_id: p.experimentId,
        project_id: p.projectId,
        name,
        user_id: p.userId,
        status: 'RUNNING',
        start_time: p.startTime,
        end_time: null,
        lifecycle_stage: 'active',
        // The core artifact store, under the project: MLflow clients read the scheme as
        // "ask the tracking server" (its artifact proxy), and artifacts/list reads this prefix.
        artifact_uri: `mlflow-artifacts:/${p.projectName}/runs/${id}/artifacts`,
        parent_run_id: tags.get(PARENT_RUN_TAG) ?? null,
        deleted_time: null,
      })
      .execute();
    await this.upsertTags(
      tx,
      id,
      [...tags].map(([key, value]) => ({ key, value })),
    );
    return id;
  }

  async require(db: Executor, projectId: string, id: string): Promise<RunsTable> {
    const row = await db
      .selectFrom('runs')
      .selectAll()
      .where('id', '=', id)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    if (!row) throw runNotFound(id);
    return row;
  }

  /** A run that may be logged to: MLflow refuses changes to a deleted run. */
  async requireActive(db: Executor, projectId: string, id: string): Promise<RunsTable> {
    const row = await this.require(db, projectId, id);
    if (row.lifecycle_stage !== 'active')
      throw invalid(`The run ${id} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`);
    return row;
  }

  async update(
    tx: Executor,
    projectId: string,
    id: string,
    p: { status?: RunStatus | undefined; endTime?: number | undefined; runName?: string | undefined },
  ): Promise<RunsTable> {
    const row = await this.requireActive(tx, projectId, id);
    const set: Partial<RunsTable> = {};
    if (p.status) set.status = p.status;
    if (p.endTime !== undefined) set.end_time = p.endTime;
    if (p.runName) set.name = p.runName;
    if (Object.keys(set).length > 0) await tx.updateTable('runs').set(set).where('id', '=', id).execute();
    if (p.runName) await this.upsertTags(tx, id, [{ key: RUN_NAME_TAG, value: p.runName }]);
    return { ...row, ...set };
  }

  async setLifecycle(
    tx: Executor,
    projectId: string,
    id: string,
    stage: 'active' | 'deleted',
    now: number,
  ): Promise<void> {
    await this.require(tx, projectId, id);
    await tx
      .updateTable('runs')
      .set({ lifecycle_stage: stage, deleted_time: stage === 'deleted' ? now : null })
      .where('id', '=', id)
      .execute();
  }

  /** Sets tags (last one wins for a repeated key); the reserved name and parent tags move their columns too. */
  async setTags(tx: Executor, runId: string, tags: KeyValue[]): Promise<void> {
    const unique = [...new Map(tags.map((t) => [t.key, t])).values()];
    if (unique.length === 0) return;
    await this.upsertTags(tx, runId, unique);
    const set: Partial<RunsTable> = {};
    for (const t of unique) {
      if (t.key === RUN_NAME_TAG) set.name = t.value;
      if (t.key === PARENT_RUN_TAG) set.parent_run_id = t.value;
    }
    if (Object.keys(set).length > 0) await tx.updateTable('runs').set(set).where('id', '=', runId).execute();
  }

  private async upsertTags(tx: Executor, runId: string, tags: KeyValue[]): Promise<void> {
    if (tags.length === 0) return;
    await tx
      .insertInto('run_tags')
      .values(tags.map((t) => ({ run_id: runId, key: t.key, value: t.value })))
      .onConflict((oc) =>
        oc.columns(['run_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })),
      )
      .execute();
  }

  async deleteTag(tx: Executor, runId: string, key: string): Promise<void> {
    const res = await tx
      .deleteFrom('run_tags')
      .where('run_id', '=', runId)
      .where('key', '=', key)
      .executeTakeFirst();
    if (Number(res.numDeletedRows) === 0)
      throw new FalajError('FALAJ_NOT_FOUND', `No tag with name: ${key} in run with id ${runId}`);
    if (key === PARENT_RUN_TAG)
      await tx.updateTable('runs').set({ parent_run_id: null }).where('id', '=', runId).execute();
  }

  /**
   * Params are immutable: logging the same value again is fine, a different value is refused
   * (and, inside the caller's transaction, nothing of the request is kept). The check runs
   * after the insert, so that two concurrent requests cannot both pass it.
   */
  async logParams(tx: Executor, runId: string, params: KeyValue[]): Promise<void> {
    if (params.length === 0) return;
    const given = new Map<string, string>();
    for (const p of params) {
      const seen = given.get(p.key);
      if (seen !== undefined && seen !== p.value)
        throw invalid(`Duplicate parameter keys have been submitted: '${p.key}' with different values`);
      given.set(p.key, p.value);
    }
    const keys = [...given.keys()];
    await tx
      .insertInto('params')
      .values(keys.map((key) => ({ run_id: runId, key, value: given.get(key)! })))
      .onConflict((oc) => oc.columns(['run_id', 'key']).doNothing())
      .execute();
    const stored = await tx
      .selectFrom('params')
      .select(['key', 'value'])
      .where('run_id', '=', runId)
      .where('key', 'in', keys)
      .execute();
    const changed = stored
      .filter((r) => r.value !== given.get(r.key))
      .map((r) => ({ key: r.key, old_value: r.value, new_value: given.get(r.key) }));
    if (changed.length > 0) {
      throw invalid(
        `Changing param values is not allowed. Params were already logged='${JSON.stringify(changed)}' for run ID='${runId}'.`,
      );
    }
  }

  /** Dataset inputs: a dataset is kept once per experiment (by name and digest) and linked to the run. */
  async logInputs(tx: Executor, run: RunsTable, inputs: DatasetInput[]): Promise<void> {
    for (const input of inputs) {
      const d = input.dataset;
      let datasetId = (
        await tx
          .selectFrom('datasets')
          .select('id')
          .where('experiment_id', '=', run.experiment_id)
          .where('name', '=', d.name)
          .where('digest', '=', d.digest)
          .executeTakeFirst()
      )?.id;
      if (!datasetId) {
        datasetId = newId();
        await tx
          .insertInto('datasets')
          .values({
            id: datasetId,
            experiment_id: run.experiment_id,
            name: d.name,
            digest: d.digest,
            source_type: d.sourceType,
            source: d.source,
            schema: d.schema,
            profile: d.profile,
          })
          .execute();
      }
      await tx
        .insertInto('run_inputs')
        .values({ run_id: run.id, dataset_id: datasetId, tags: JSON.stringify(input.tags) })
        .onConflict((oc) => oc.columns(['run_id', 'dataset_id']).doNothing())
        .execute();
    }
  }
}
