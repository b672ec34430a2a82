import type { Executor } from '../store/executor.js';
import type { RunsTable } from '../store/schema.js';
import { chunks, IN_CHUNK } from './chunks.js';
import type { MetricPoint } from './metric-store.js';
import type { KeyValue } from './validation.js';
import type { LoadedRun, WireDatasetInput } from './wire.js';

function group<R extends { run_id: string }, V>(rows: R[], map: (r: R) => V): Map<string, V[]> {
  const out = new Map<string, V[]>();
  for (const r of rows) {
    let list = out.get(r.run_id);
    if (!list) {
      list = [];
      out.set(r.run_id, list);
    }
    list.push(map(r));
  }
  return out;
}

function parseTags(json: string): KeyValue[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? (v as KeyValue[]) : [];
  } catch {
    return [];
  }
}

/**
 * Whole runs (info, latest metrics, params, tags, dataset inputs) for a list of ids, in that
 * order, in five queries per 10,000 ids whatever the number of runs. Ids not found are skipped.
 */
export async function loadRuns(db: Executor, ids: readonly string[]): Promise<LoadedRun[]> {
  const infos = new Map<string, RunsTable>();
  const metrics = new Map<string, MetricPoint[]>();
  const params = new Map<string, KeyValue[]>();
  const tags = new Map<string, KeyValue[]>();
  const inputs = new Map<string, WireDatasetInput[]>();
  const merge = <V>(into: Map<string, V[]>, from: Map<string, V[]>) => {
    for (const [k, v] of from) into.set(k, v);
  };
  for (const part of chunks(ids, IN_CHUNK)) {
    for (const r of await db.selectFrom('runs').selectAll().where('id', 'in', part).execute())
      infos.set(r.id, r);
    const m = await db
      .selectFrom('latest_metrics')
      .select(['run_id', 'key', 'step', 'timestamp', 'value', 'is_nan'])
      .where('run_id', 'in', part)
      .orderBy('key')
      .execute();
    merge(
      metrics,
      group(m, (r) => ({
        key: r.key,
        value: r.is_nan ? Number.NaN : Number(r.value),
        timestamp: Number(r.timestamp),
        step: Number(r.step),
      })),
    );
    const p = await db
      .selectFrom('params')
      .select(['run_id', 'key', 'value'])
      .where('run_id', 'in', part)
      .orderBy('key')
      .execute();
    merge(
      params,
      group(p, (r) => ({ key: r.key, value: r.value })),
    );
    const t = await db
      .selectFrom('run_tags')
      .select(['run_id', 'key', 'value'])
      .where('run_id', 'in', part)
      .orderBy('key')
      .execute();
    merge(
      tags,
      group(t, (r) => ({ key: r.key, value: r.value })),
    );
    const i = await db
      .selectFrom('run_inputs as ri')
      .innerJoin('datasets as d', 'd.id', 'ri.dataset_id')
      .select([
        'ri.run_id',
        'ri.tags',
        'd.name',
        'd.digest',
        'd.source_type',
        'd.source',
        'd.schema',
        'd.profile',
      ])
      .where('ri.run_id', 'in', part)
      .orderBy('d.name')
      .orderBy('d.digest')
      .execute();
    merge(
      inputs,
      group(i, (r) => {
        const inputTags = parseTags(r.tags);
        return {
          ...(inputTags.length > 0 ? { tags: inputTags } : {}),
          dataset: {
            name: r.name,
            digest: r.digest,
            source_type: r.source_type,
            source: r.source,
            ...(r.schema !== null ? { schema: r.schema } : {}),
            ...(r.profile !== null ? { profile: r.profile } : {}),
          },
        };
      }),
    );
  }
  const out: LoadedRun[] = [];
  for (const id of ids) {
    const info = infos.get(id);
    if (!info) continue;
    out.push({
      info,
      metrics: metrics.get(id) ?? [],
      params: params.get(id) ?? [],
      tags: tags.get(id) ?? [],
      inputs: inputs.get(id) ?? [],
    });
  }
  return out;
}
