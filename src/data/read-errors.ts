// DuckDB's reader errors turned into FALAJ_DATA_INVALID with file, line and column. DuckDB's
// messages echo the offending line, which may be megabytes long or hold the very bytes that
// are wrong: the message is rebuilt from the facts instead of passed on.
import { FalajError } from '../core/errors.js';

export function dataError(file: string, message: string, details: Record<string, unknown> = {}): FalajError {
  return new FalajError('FALAJ_DATA_INVALID', message, { file, ...details });
}

const LINE = /CSV Error on Line: (\d+)/;
const JSON_LINE = /at byte (\d+) in line (\d+)/;
const COLUMNS = /Expected Number of Columns: (\d+) Found: (\d+)/;
const CONVERT =
  /Error when converting column "((?:[^"]|"")*)"\. Could not convert string "((?:[^"\n]){0,80})[^\n]*to '(\w+)'/;
const MAX_LINE = /Maximum line size of (\d+) bytes exceeded/;

/** True when DuckDB refused a value its sniffed column type could not hold. */
export function isConversionError(err: unknown): boolean {
  return /Conversion Error|Could not convert/.test((err as Error)?.message ?? '');
}

/** Rebuilds a DuckDB reader error as a data error naming `file` (the name the user knows). */
export function readError(file: string, format: string, err: unknown): FalajError {
  if (err instanceof FalajError) return err;
  const message = (err as Error)?.message ?? String(err);
  const where: Record<string, unknown> = { format };
  let why: string | undefined;
  const line = LINE.exec(message);
  if (line) where.line = Number(line[1]);
  const jsonLine = JSON_LINE.exec(message);
  if (jsonLine) {
    where.line = Number(jsonLine[2]);
    where.byte = Number(jsonLine[1]);
  }
  const cols = COLUMNS.exec(message);
  const conv = CONVERT.exec(message);
  const maxLine = MAX_LINE.exec(message);
  if (cols) {
    const expected = Number(cols[1]);
    const found = Number(cols[2]);
    // The first field that is missing, or the first one too many.
    where.column = Math.min(expected, found) + 1;
    where.expectedFields = expected;
    where.foundFields = found;
    why = `expected ${expected} fields, found ${found} (a ragged row)`;
  } else if (conv) {
    where.column = conv[1]!.replaceAll('""', '"');
    why = `value "${conv[2]}" in column '${where.column}' is not a ${conv[3]}`;
  } else if (/unterminated quote/i.test(message)) {
    why = 'a quoted value is never closed (unbalanced quotes)';
  } else if (/Invalid unicode|not utf-8/i.test(message)) {
    why = 'the bytes are not valid UTF-8 (save the file as UTF-8)';
  } else if (maxLine) {
    why = `a line is longer than ${maxLine[1]} bytes`;
  } else if (/Malformed JSON|unexpected character|unexpected end/i.test(message)) {
    why = 'malformed JSON';
  }
  if (!why) {
    const first = message.split('\n').find((l) => l.trim() !== '' && !l.startsWith('Original Line')) ?? '';
    why = first.slice(0, 300);
  }
  const at = where.line === undefined ? '' : ` at line ${where.line}`;
  return dataError(file, `cannot read '${file}' as ${format.toUpperCase()}${at}: ${why}`, where);
}
