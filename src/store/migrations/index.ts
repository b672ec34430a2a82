import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.js';
import * as m0001 from './0001-core.js';
import * as m0002 from './0002-tracking.js';
import * as m0003 from './0003-metric-chunks.js';
import * as m0004 from './0004-default-experiment.js';
import * as m0005 from './0005-datasets.js';
import * as m0006 from './0006-jobs.js';
import * as m0007 from './0007-run-tokens.js';
import * as m0008 from './0008-secrets.js';
import * as m0009 from './0009-agents.js';
import * as m0010 from './0010-job-preemption.js';
import * as m0011 from './0011-agent-tokens-and-logs.js';
import * as m0012 from './0012-login-attempts-by-source.js';
import * as m0013 from './0013-model-registry.js';
import * as m0014 from './0014-evaluation-requests.js';
import * as m0015 from './0015-serving.js';

export interface DialectMigration {
  up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void>;
}

// Ordered by name; a migration is never edited once released, only followed by a new one. A
// migration imports only from src/store/ and src/core/ (test/store/migration-isolation.test.ts):
// what it does must not change when domain code does.
const MIGRATIONS: Record<string, DialectMigration> = {
  '0001-core': m0001,
  '0002-tracking': m0002,
  '0003-metric-chunks': m0003,
  '0004-default-experiment': m0004,
  '0005-datasets': m0005,
  '0006-jobs': m0006,
  '0007-run-tokens': m0007,
  '0008-secrets': m0008,
  '0009-agents': m0009,
  '0010-job-preemption': m0010,
  '0011-agent-tokens-and-logs': m0011,
  '0012-login-attempts-by-source': m0012,
  '0013-model-registry': m0013,
  '0014-evaluation-requests': m0014,
  '0015-serving': m0015,
};

/** The migrations in the order they apply. */
export function orderedMigrations(): [string, DialectMigration][] {
  return Object.entries(MIGRATIONS).sort(([a], [b]) => a.localeCompare(b));
}
