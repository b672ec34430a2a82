/** Splits a list into pieces of at most `size` (SQLite binds at most 32766 parameters per statement). */
export function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Ids per `IN (...)` list: well under SQLite's bound-parameter limit. */
export const IN_CHUNK = 10_000;
