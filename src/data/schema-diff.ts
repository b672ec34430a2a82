import type { ColumnSchema, SchemaDiff } from './types.js';

/** Columns added, removed and retyped from `parent` to `next` (in `next`'s, then `parent`'s order). */
export function diffSchemas(parent: readonly ColumnSchema[], next: readonly ColumnSchema[]): SchemaDiff {
  const before = new Map(parent.map((c) => [c.name, c.type]));
  const after = new Map(next.map((c) => [c.name, c.type]));
  return {
    added: next.filter((c) => !before.has(c.name)),
    removed: parent.filter((c) => !after.has(c.name)),
    retyped: next
      .filter((c) => before.has(c.name) && before.get(c.name) !== c.type)
      .map((c) => ({ name: c.name, from: before.get(c.name) as string, to: c.type })),
  };
}
