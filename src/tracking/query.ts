/**
 * GET parameters as MLflow reads them: repeated keys make a list, and the bracket forms
 * `key[]=` and `key[0]=` that some clients send (MLflow's querystring parser) do as well.
 */
export function normalizeQuery(query: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof query !== 'object' || query === null) return out;
  for (const [rawKey, value] of Object.entries(query as Record<string, unknown>)) {
    const m = /^(.*?)\[\d*\]$/.exec(rawKey);
    const key = m ? m[1]! : rawKey;
    const values = Array.isArray(value) ? value : [value];
    const prev = out[key];
    if (m || prev !== undefined || Array.isArray(value)) {
      out[key] = [...(prev === undefined ? [] : Array.isArray(prev) ? prev : [prev]), ...values];
    } else out[key] = value;
  }
  return out;
}

/** A scalar field of a GET query: the first of repeated values. */
export function scalar(value: unknown): unknown {
  return Array.isArray(value) ? value[0] : value;
}
