// Every store-backed test runs on each dialect: SQLite always, PostgreSQL whenever it answers
// (and CI sets FALAJ_TEST_REQUIRE_PG=1 so that a missing PostgreSQL fails instead of skipping).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createPgSchema } from './pg-schema.js';

export const PG_BASE_URL = process.env.FALAJ_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let pgUp: Promise<boolean> | undefined;
export function postgresAvailable(): Promise<boolean> {
  pgUp ??= (async () => {
    const c = new pg.Client({ connectionString: PG_BASE_URL, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query('select 1');
      return true;
    } catch {
      if (process.env.FALAJ_TEST_REQUIRE_PG === '1')
        throw new Error(`PostgreSQL required but not reachable at ${PG_BASE_URL}`);
      return false;
    } finally {
      await c.end().catch(() => {});
    }
  })();
  return pgUp;
}

export type DialectName = 'sqlite' | 'postgres';

/** Dialects to run on; PostgreSQL only when reachable (evaluated once per test file at import). */
export const DIALECTS: DialectName[] = (await postgresAvailable()) ? ['sqlite', 'postgres'] : ['sqlite'];

/** A fresh, empty place to keep data: a temp data dir and, for PostgreSQL, a new schema in it. */
export interface Sandbox {
  dialect: DialectName;
  dataDir: string;
  databaseUrl: string | undefined;
  /** Drops the schema and removes the data dir. */
  dispose(): Promise<void>;
}

export async function createSandbox(dialect: DialectName): Promise<Sandbox> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'falaj-test-'));
  if (dialect === 'sqlite') {
    return {
      dialect,
      dataDir,
      databaseUrl: undefined,
      dispose: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const schema = await createPgSchema(PG_BASE_URL, 't');
  return {
    dialect,
    dataDir,
    databaseUrl: schema.url,
    async dispose() {
      await schema.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
