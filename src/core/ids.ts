import { randomBytes } from 'node:crypto';

/** A 128-bit random identifier as 32 hex characters (the shape MLflow uses for run ids). */
export function newId(): string {
  return randomBytes(16).toString('hex');
}
