// How metric values travel. JSON has no NaN or ±Infinity; MLflow's wire format (protobuf's
// JSON mapping, which MLflow's own clients send and its server answers with) spells them as
// the strings "NaN", "Infinity" and "-Infinity", and MLflow's server also accepts the bare
// tokens Python's json module writes. Clients here send the strings and read both.

/** A metric value as sent: finite numbers as numbers, the rest as protobuf's JSON strings. */
export function encodeMetricValue(value: number): number | string {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

/** A metric value as received: a number, one of the strings above, or null (a NaN some JSON writers lost). */
export function decodeMetricValue(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === null || value === undefined) return Number.NaN;
  if (typeof value === 'string') {
    const n = Number(value === 'Infinity' || value === '+Infinity' ? 'Infinity' : value);
    if (value === 'NaN' || !Number.isNaN(n)) return n;
  }
  throw new TypeError(`not a metric value: ${JSON.stringify(value)}`);
}
