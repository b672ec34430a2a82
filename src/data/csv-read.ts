// CSV through DuckDB without trusting its dialect sniffer: the sniffer silently skips rows it
// cannot fit (a ragged second row made it take row 3 as the header) and reads a one-column
// file when quotes do not balance. So the dialect is fixed (delimiter from the extension, '"'
// quotes, a header row, no skipped rows), the header is parsed here, the sniffer is asked only
// for column types, and every row is then read strictly with those types. Types exclude
// BOOLEAN and the integers: DuckDB rounds a late '1.5' into a column sniffed as BIGINT without
// an error (see src/training/load/source.ts). A later value that does not fit a sniffed type
// makes the whole file be sampled once more, so a column's type is the one all its values fit.
import { open } from 'node:fs/promises';
import { dataError, isConversionError, readError } from './read-errors.js';
import type { ColumnSchema } from './types.js';
import { type DuckWorkspace, literal } from './workspace.js';

/** DuckDB's limit on one line; a longer line is refused with its line number. */
export const MAX_LINE_BYTES = 2 * 1024 * 1024;
const TYPE_CANDIDATES = "['DOUBLE', 'DATE', 'TIMESTAMP', 'TIME', 'VARCHAR']";

export interface CsvPlan {
  /** A read_csv(...) call over the parameter $1. */
  expression: string;
  columns: ColumnSchema[];
  /** Columns whose type changed once the whole file was sampled (mixed values). */
  warnings: string[];
}

function dialect(delim: string): string {
  return `header = true, skip = 0, delim = ${literal(delim)}, quote = '"', escape = '"', strict_mode = true, max_line_size = ${MAX_LINE_BYTES}`;
}

/** The header row's fields (RFC 4180 quoting), read from the first line of the file. */
export async function readHeader(file: string, shownName: string, delim: string): Promise<string[]> {
  const fh = await open(file, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(MAX_LINE_BYTES + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (head.length === 0 || head.toString('utf8').trim() === '')
    throw dataError(shownName, `'${shownName}' is empty`, { line: 1 });
  const start = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  const fields: string[] = [];
  let quoted = false;
  let i = start;
  let ended = false;
  const bytes: number[] = [];
  const flush = () => {
    fields.push(Buffer.from(bytes).toString('utf8'));
    bytes.length = 0;
  };
  for (; i < head.length; i++) {
    const b = head[i] as number;
    if (quoted) {
      if (b === 0x22 && head[i + 1] === 0x22) {
        bytes.push(0x22);
        i++;
      } else if (b === 0x22) quoted = false;
      else bytes.push(b);
    } else if (b === 0x22) quoted = true;
    else if (b === delim.charCodeAt(0)) flush();
    else if (b === 0x0a || b === 0x0d) {
      ended = true;
      break;
    } else bytes.push(b);
  }
  if (!ended && head.length > MAX_LINE_BYTES) {
    throw dataError(
      shownName,
      `cannot read '${shownName}' at line 1: a line is longer than ${MAX_LINE_BYTES} bytes`,
      { line: 1 },
    );
  }
  if (quoted)
    throw dataError(shownName, `cannot read '${shownName}' at line 1: a quoted header is never closed`, {
      line: 1,
    });
  flush();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    decoder.decode(head.subarray(0, i));
  } catch {
    throw dataError(shownName, `cannot read '${shownName}' at line 1: the header is not valid UTF-8`, {
      line: 1,
    });
  }
  const seen = new Set<string>();
  fields.forEach((name, k) => {
    if (name.trim() === '')
      throw dataError(shownName, `cannot read '${shownName}': column ${k + 1} of the header has no name`, {
        line: 1,
        column: k + 1,
      });
    if (seen.has(name))
      throw dataError(shownName, `cannot read '${shownName}': the header names '${name}' twice`, {
        line: 1,
        column: k + 1,
      });
    seen.add(name);
  });
  return fields;
}

async function sniff(ws: DuckWorkspace, file: string, delim: string, full: boolean) {
  const rows = await ws.rows(
    `SELECT Columns, DateFormat, TimestampFormat FROM sniff_csv($1, ${dialect(delim)}, auto_type_candidates = ${TYPE_CANDIDATES}${full ? ', sample_size = -1' : ''})`,
    [file],
  );
  const row = rows[0] ?? [];
  return {
    columns: (row[0] as { name: string; type: string }[]).map((c) => ({ name: c.name, type: c.type })),
    dateFormat: (row[1] as string | null) ?? null,
    timestampFormat: (row[2] as string | null) ?? null,
  };
}

function expression(delim: string, s: Awaited<ReturnType<typeof sniff>>): string {
  const columns = s.columns.map((c) => `${literal(c.name)}: ${literal(c.type)}`).join(', ');
  const formats = [
    s.dateFormat ? `dateformat = ${literal(s.dateFormat)}` : '',
    s.timestampFormat ? `timestampformat = ${literal(s.timestampFormat)}` : '',
  ].filter(Boolean);
  return `read_csv($1, auto_detect = false, ${dialect(delim)}, columns = {${columns}}${formats.map((f) => `, ${f}`).join('')})`;
}

/** Reads every row as text, strictly: finds the line a sniffer failure came from. */
async function strictCheck(
  ws: DuckWorkspace,
  file: string,
  shown: string,
  delim: string,
  header: string[],
): Promise<void> {
  const columns = header.map((n) => `${literal(n)}: 'VARCHAR'`).join(', ');
  try {
    await ws.rows(
      `SELECT count(*) FROM read_csv($1, auto_detect = false, ${dialect(delim)}, columns = {${columns}})`,
      [file],
    );
  } catch (err) {
    throw readError(shown, delim === '\t' ? 'tsv' : 'csv', err);
  }
}

/**
 * Plans the read of a CSV/TSV file: `run` executes a statement over the returned expression
 * and is retried once with whole-file types when a late value does not fit.
 */
export async function readCsv<T>(
  ws: DuckWorkspace,
  file: string,
  shown: string,
  delim: string,
  run: (expression: string) => Promise<T>,
): Promise<{ result: T; plan: CsvPlan }> {
  const format = delim === '\t' ? 'tsv' : 'csv';
  const header = await readHeader(file, shown, delim);
  let sniffed: Awaited<ReturnType<typeof sniff>>;
  try {
    sniffed = await sniff(ws, file, delim, false);
  } catch (err) {
    await strictCheck(ws, file, shown, delim, header);
    throw readError(shown, format, err);
  }
  if (sniffed.columns.length !== header.length || sniffed.columns.some((c, i) => c.name !== header[i])) {
    await strictCheck(ws, file, shown, delim, header);
    throw dataError(
      shown,
      `cannot read '${shown}' as ${format.toUpperCase()}: its rows do not match its header`,
      { line: 1 },
    );
  }
  const first = expression(delim, sniffed);
  try {
    return { result: await run(first), plan: { expression: first, columns: sniffed.columns, warnings: [] } };
  } catch (err) {
    if (!isConversionError(err)) throw readError(shown, format, err);
  }
  const whole = await sniff(ws, file, delim, true);
  const warnings: string[] = [];
  whole.columns.forEach((c, i) => {
    const before = sniffed.columns[i]?.type;
    if (c.type !== before)
      warnings.push(
        `column '${c.name}' holds values that are not ${before} past the first rows: read as ${c.type}`,
      );
  });
  const second = expression(delim, whole);
  try {
    return { result: await run(second), plan: { expression: second, columns: whole.columns, warnings } };
  } catch (err) {
    throw readError(shown, format, err);
  }
}
