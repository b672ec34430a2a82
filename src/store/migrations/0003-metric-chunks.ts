import { type Kysely, sql } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';

// Points per chunk when existing history is moved over.
const CHUNK_POINTS = 1000;

/**
 * The chunk format as released with this migration, frozen here: n steps, then n timestamps,
 * then n values, each a little-endian float64 (24·n bytes). It is a copy of `encodeChunk` in
 * src/tracking/metric-chunk.ts, not an import: a released migration must write what it wrote
 * when it was released, whatever the live code becomes (a new format gets a new migration
 * that converts these chunks). test/store/migration-isolation.test.ts checks that the two agree
 * while the format is unchanged.
 */
export function encodeChunkV1(s: {
  steps: Float64Array;
  timestamps: Float64Array;
  values: Float64Array;
}): Buffer {
  const n = s.steps.length;
  const out = Buffer.alloc(24 * n);
  for (let i = 0; i < n; i++) {
    out.writeDoubleLE(s.steps[i]!, 8 * i);
    out.writeDoubleLE(s.timestamps[i]!, 8 * (n + i));
    out.writeDoubleLE(s.values[i]!, 8 * (2 * n + i));
  }
  return out;
}

/**
 * Metric history in chunks (the format of `encodeChunkV1` above): one row per (run, key, logging
 * call) with the points packed as float64 arrays, replacing one row per point. Ingest writes
 * ~100× fewer index entries and a history page decodes arrays. Existing points move over,
 * per run and key in (step, timestamp) order, then the per-point table goes.
 */
export async function up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void> {
  const { serial, int64, bytes } = dialect.types;
  await db.schema
    .createTable('metric_chunks')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('n', 'integer', (c) => c.notNull())
    .addColumn('min_step', int64, (c) => c.notNull())
    .addColumn('max_step', int64, (c) => c.notNull())
    .addColumn('data', bytes, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('metric_chunks_run_key_step')
    .on('metric_chunks')
    .columns(['run_id', 'key', 'min_step', 'id'])
    .execute();

  const { rows: pairs } = await sql<{ run_id: string; key: string }>`
    select distinct "run_id", "key" from "metrics" order by "run_id", "key"`.execute(db);
  for (const { run_id, key } of pairs) {
    const { rows } = await sql<{
      step: number | string;
      timestamp: number | string;
      value: number | null;
      is_nan: number;
    }>`
      select "step", "timestamp", "value", "is_nan" from "metrics" where "run_id" = ${run_id} and "key" = ${key}
      order by "step", "timestamp"`.execute(db);
    for (let at = 0; at < rows.length; at += CHUNK_POINTS) {
      const part = rows.slice(at, at + CHUNK_POINTS);
      const n = part.length;
      const s = { steps: new Float64Array(n), timestamps: new Float64Array(n), values: new Float64Array(n) };
      part.forEach((r, i) => {
        s.steps[i] = Number(r.step);
        s.timestamps[i] = Number(r.timestamp);
        s.values[i] = r.is_nan ? Number.NaN : Number(r.value);
      });
      await sql`insert into "metric_chunks" ("run_id", "key", "n", "min_step", "max_step", "data")
        values (${run_id}, ${key}, ${n}, ${s.steps[0]}, ${s.steps[n - 1]}, ${encodeChunkV1(s)})`.execute(db);
    }
  }
  await db.schema.dropTable('metrics').execute();
}
