import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/** What a query runs on: the store's database, or a transaction open on it. */
export type Executor = Kysely<Database> | Transaction<Database>;
