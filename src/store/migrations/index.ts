import type { Kysely, Migration, MigrationProvider } from 'kysely';
import type { Dialect } from '../dialect.js';
import * as m0001 from './0001-core.js';
import * as m0002 from './0002-tracking.js';

interface DialectMigration {
  up(db: Kysely<unknown>, dialect: Dialect): Promise<void>;
}

// Ordered by name; a migration is never edited once released, only followed by a new one.
const MIGRATIONS: Record<string, DialectMigration> = {
  '0001-core': m0001,
  '0002-tracking': m0002,
};

/** Binds each migration to the dialect so that one file can hold both dialects' DDL. */
export function migrationProvider(dialect: Dialect): MigrationProvider {
  return {
    async getMigrations() {
      const out: Record<string, Migration> = {};
      for (const [name, m] of Object.entries(MIGRATIONS)) out[name] = { up: (db) => m.up(db, dialect) };
      return out;
    },
  };
}
