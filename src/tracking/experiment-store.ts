import type { Selectable } from 'kysely';
import { FalajError } from '../core/errors.js';
import type { StoreDialect } from '../store/dialects/dialect.js';
import type { Executor } from '../store/executor.js';
import type { ExperimentsTable } from '../store/schema.js';

type ExperimentRow = Selectable<ExperimentsTable>;

import { chunks, IN_CHUNK } from './chunks.js';
import { compileExperimentFilter, parseExperimentOrderBy } from './experiment-filter.js';
import { isUniqueViolation, newExperimentId } from './ids.js';
import { LIMITS } from './limits.js';
import { encodePageToken, offsetOf } from './page-token.js';
import { invalid, type KeyValue, type ViewType } from './validation.js';

export interface Experiment extends ExperimentRow {
  tags: KeyValue[];
}

/** MLflow's id of the default experiment, and the name MLflow gives it. */
export const DEFAULT_EXPERIMENT_ID = '0';
const DEFAULT_EXPERIMENT_NAME = 'Default';

export function experimentNotFound(id: string): FalajError {
  return new FalajError('FALAJ_NOT_FOUND', `No Experiment with id=${id} exists`);
}

export function validateExperimentName(name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '')
    throw invalid(`Invalid experiment name: '${String(name ?? '')}'`);
  if (name.length > LIMITS.experimentNameLength)
    throw invalid(`Experiment name exceeds the maximum length of ${LIMITS.experimentNameLength}`);
  if (name.includes('\u0000')) throw invalid('Experiment name must not contain NUL characters');
  return name;
}

/** Experiments of one project: MLflow's model (name unique per project, soft delete, tags). */
export class ExperimentStore {
  constructor(private readonly dialect: StoreDialect) {}

  async create(
    tx: Executor,
    p: {
      projectId: string;
      projectName: string;
      name: string;
      artifactLocation?: string;
      tags: KeyValue[];
      now: number;
    },
  ): Promise<string> {
    await this.assertNameFree(tx, p.projectId, p.name);
    const id = newExperimentId();
    try {
      await tx
        .insertInto('experiments')
        .values({
          id,
          project_id: p.projectId,
          name: p.name,
          artifact_location: p.artifactLocation || `mlflow-artifacts:/${p.projectName}/experiments/${id}`,
          lifecycle_stage: 'active',
          creation_time: p.now,
          last_update_time: p.now,
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw alreadyExists(p.name);
      throw err;
    }
    await this.setTags(tx, id, p.tags);
    return id;
  }

  private async assertNameFree(tx: Executor, projectId: string, name: string): Promise<void> {
    const taken = await tx
      .selectFrom('experiments')
      .select('id')
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .executeTakeFirst();
    if (taken) throw alreadyExists(name);
  }

  /**
   * MLflow's experiment id "0" names the project's default experiment: its real id when it
   * exists. Any other id is returned as it is.
   */
  async resolve(db: Executor, projectId: string, id: string): Promise<string> {
    if (id !== DEFAULT_EXPERIMENT_ID) return id;
    const row = await db
      .selectFrom('experiments')
      .select('id')
      .where('project_id', '=', projectId)
      .where('is_default', '=', 1)
      .executeTakeFirst();
    return row?.id ?? id;
  }

  /**
   * The project's default experiment, created ("Default", as MLflow names it) on first use;
   * an existing experiment named "Default" is adopted. Returns its id and whether it is new.
   */
  async ensureDefault(
    tx: Executor,
    p: { projectId: string; projectName: string; now: number },
  ): Promise<{ id: string; created: boolean }> {
    const existing = await this.resolve(tx, p.projectId, DEFAULT_EXPERIMENT_ID);
    if (existing !== DEFAULT_EXPERIMENT_ID) return { id: existing, created: false };
    const id = newExperimentId();
    // ON CONFLICT DO NOTHING: a concurrent first use (or a user's own "Default") wins the name.
    await tx
      .insertInto('experiments')
      .values({
        id,
        project_id: p.projectId,
        name: DEFAULT_EXPERIMENT_NAME,
        artifact_location: `mlflow-artifacts:/${p.projectName}/experiments/${id}`,
        lifecycle_stage: 'active',
        creation_time: p.now,
        last_update_time: p.now,
        is_default: 1,
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
    const named = await tx
      .selectFrom('experiments')
      .select(['id', 'is_default'])
      .where('project_id', '=', p.projectId)
      .where('name', '=', DEFAULT_EXPERIMENT_NAME)
      .executeTakeFirstOrThrow();
    if (!named.is_default)
      await tx.updateTable('experiments').set({ is_default: 1 }).where('id', '=', named.id).execute();
    return { id: named.id, created: named.id === id };
  }

  /** The id of the project's experiment of that name, created when there is none yet. */
  async getOrCreate(
    tx: Executor,
    p: { projectId: string; projectName: string; name: string; now: number },
  ): Promise<string> {
    const existing = await tx
      .selectFrom('experiments')
      .select('id')
      .where('project_id', '=', p.projectId)
      .where('name', '=', p.name)
      .executeTakeFirst();
    return existing?.id ?? this.create(tx, { ...p, tags: [] });
  }

  async require(db: Executor, projectId: string, id: string): Promise<ExperimentRow> {
    const row = await db
      .selectFrom('experiments')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw experimentNotFound(id);
    return row;
  }

  async requireActive(db: Executor, projectId: string, id: string): Promise<ExperimentRow> {
    const row = await this.require(db, projectId, id);
    if (row.lifecycle_stage !== 'active')
      throw invalid(
        `The experiment ${id} must be in the 'active' state. Current state is ${row.lifecycle_stage}.`,
      );
    return row;
  }

  async get(db: Executor, projectId: string, id: string): Promise<Experiment> {
    const row = await this.require(db, projectId, id);
    return (await this.withTags(db, [row]))[0]!;
  }

  async getByName(db: Executor, projectId: string, name: string): Promise<Experiment> {
    const row = await db
      .selectFrom('experiments')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) throw new FalajError('FALAJ_NOT_FOUND', `Could not find experiment with name '${name}'`);
    return (await this.withTags(db, [row]))[0]!;
  }

  async rename(tx: Executor, projectId: string, id: string, newName: string, now: number): Promise<string> {
    const row = await this.require(tx, projectId, id);
    if (row.lifecycle_stage !== 'active') throw invalid(`Cannot rename a non-active experiment ${id}`);
    if (row.name !== newName) await this.assertNameFree(tx, projectId, newName);
    try {
      await tx
        .updateTable('experiments')
        .set({ name: newName, last_update_time: now })
        .where('id', '=', id)
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw alreadyExists(newName);
      throw err;
    }
    return row.name;
  }

  /**
   * Soft delete, as MLflow does: the experiment and its active runs are marked deleted. The
   * runs get the same deletion time, so that a restore brings back exactly those runs (and
   * not runs deleted one by one before).
   */
  async delete(tx: Executor, projectId: string, id: string, now: number): Promise<void> {
    const row = await this.require(tx, projectId, id);
    if (row.lifecycle_stage === 'deleted') return;
    await tx
      .updateTable('experiments')
      .set({ lifecycle_stage: 'deleted', last_update_time: now })
      .where('id', '=', id)
      .execute();
    await tx
      .updateTable('runs')
      .set({ lifecycle_stage: 'deleted', deleted_time: now })
      .where('experiment_id', '=', id)
      .where('lifecycle_stage', '=', 'active')
      .execute();
  }

  async restore(tx: Executor, projectId: string, id: string, now: number): Promise<void> {
    const row = await this.require(tx, projectId, id);
    if (row.lifecycle_stage === 'active') return;
    await tx
      .updateTable('experiments')
      .set({ lifecycle_stage: 'active', last_update_time: now })
      .where('id', '=', id)
      .execute();
    await tx
      .updateTable('runs')
      .set({ lifecycle_stage: 'active', deleted_time: null })
      .where('experiment_id', '=', id)
      .where('lifecycle_stage', '=', 'deleted')
      .where('deleted_time', '=', row.last_update_time)
      .execute();
  }

  async setTags(tx: Executor, experimentId: string, tags: KeyValue[]): Promise<void> {
    // Last one wins for a key given twice (PostgreSQL refuses to upsert one row twice in one statement).
    const unique = [...new Map(tags.map((t) => [t.key, t])).values()];
    if (unique.length === 0) return;
    await tx
      .insertInto('experiment_tags')
      .values(unique.map((t) => ({ experiment_id: experimentId, key: t.key, value: t.value })))
      .onConflict((oc) =>
        oc.columns(['experiment_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })),
      )
      .execute();
  }

  async deleteTag(tx: Executor, experimentId: string, key: string): Promise<void> {
    const res = await tx
      .deleteFrom('experiment_tags')
      .where('experiment_id', '=', experimentId)
      .where('key', '=', key)
      .executeTakeFirst();
    if (Number(res.numDeletedRows) === 0)
      throw new FalajError(
        'FALAJ_NOT_FOUND',
        `No tag with name: ${key} in experiment with id ${experimentId}`,
      );
  }

  async touch(tx: Executor, id: string, now: number): Promise<void> {
    await tx.updateTable('experiments').set({ last_update_time: now }).where('id', '=', id).execute();
  }

  async search(
    db: Executor,
    q: {
      projectId: string;
      viewType: ViewType;
      filter?: string;
      orderBy: string[];
      maxResults: number;
      pageToken?: Record<string, unknown> | undefined;
    },
  ): Promise<{ experiments: Experiment[]; nextPageToken?: string }> {
    const offset = offsetOf(q.pageToken);
    let query = db.selectFrom('experiments as e').selectAll('e').where('e.project_id', '=', q.projectId);
    if (q.viewType !== 'ALL')
      query = query.where('e.lifecycle_stage', '=', q.viewType === 'ACTIVE_ONLY' ? 'active' : 'deleted');
    if (q.filter?.trim())
      for (const clause of compileExperimentFilter(q.filter, this.dialect)) query = query.where(clause);
    const order = parseExperimentOrderBy(q.orderBy);
    // MLflow's default order: newest first, then by id.
    if (order.length === 0) order.push({ column: 'creation_time', desc: true });
    for (const o of order) query = query.orderBy(`e.${o.column}` as 'e.name', o.desc ? 'desc' : 'asc');
    if (!order.some((o) => o.column === 'id')) query = query.orderBy('e.id', 'asc');
    const rows = await query
      .limit(q.maxResults + 1)
      .offset(offset)
      .execute();
    const page = rows.slice(0, q.maxResults);
    const experiments = await this.withTags(db, page);
    return rows.length > q.maxResults
      ? { experiments, nextPageToken: encodePageToken({ offset: offset + q.maxResults }) }
      : { experiments };
  }

  private async withTags(db: Executor, rows: ExperimentRow[]): Promise<Experiment[]> {
    if (rows.length === 0) return [];
    const tags = [];
    for (const ids of chunks(
      rows.map((r) => r.id),
      IN_CHUNK,
    )) {
      tags.push(
        ...(await db
          .selectFrom('experiment_tags')
          .select(['experiment_id', 'key', 'value'])
          .where('experiment_id', 'in', ids)
          .orderBy('key')
          .execute()),
      );
    }
    const byId = new Map<string, KeyValue[]>();
    for (const t of tags) {
      let list = byId.get(t.experiment_id);
      if (!list) {
        list = [];
        byId.set(t.experiment_id, list);
      }
      list.push({ key: t.key, value: t.value });
    }
    return rows.map((r) => ({ ...r, tags: byId.get(r.id) ?? [] }));
  }
}

function alreadyExists(name: string): FalajError {
  return new FalajError('FALAJ_CONFLICT', `Experiment '${name}' already exists.`);
}
