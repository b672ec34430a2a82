/** Prints `data` as JSON (with --json) or as a small aligned table of the given columns. */
export function printResult<T extends object>(
  data: T | T[],
  opts: { json?: boolean | undefined },
  columns?: (keyof T & string)[],
): void {
  if (opts.json || !columns) {
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  const rows = Array.isArray(data) ? data : [data];
  const cells = rows.map((r) => columns.map((c) => formatCell((r as Record<string, unknown>)[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const row of cells) process.stdout.write(`${line(row)}\n`);
}

function formatCell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function printMessage(message: string, opts: { json?: boolean | undefined }, data: object = {}): void {
  if (opts.json) process.stdout.write(`${JSON.stringify({ message, ...data })}\n`);
  else process.stdout.write(`${message}\n`);
}
