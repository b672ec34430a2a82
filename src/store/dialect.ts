/** The SQL dialects the metadata store runs on. */
export type Dialect = 'sqlite' | 'postgres';
