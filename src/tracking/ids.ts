import { randomBytes } from 'node:crypto';

/**
 * An experiment id: a decimal string of 18 digits, like MLflow's file store makes. MLflow
 * clients treat experiment ids as opaque strings, but some print or sort them as integers, so
 * they stay numeric. 9·10^17 values make a collision across all projects negligible (and the
 * primary key would refuse one).
 */
export function newExperimentId(): string {
  const n = randomBytes(8).readBigUInt64BE() % 900_000_000_000_000_000n;
  return (n + 100_000_000_000_000_000n).toString();
}

/** Whether a database error is a unique-constraint violation (SQLite or PostgreSQL). */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return (
    e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}
