// Bulk label files: CSV with a header naming request_id, label and optionally row (any order),
// or JSON lines of {request_id, label, row?}. Every error names its line (1-based).
import { FalajError } from '../../core/errors.js';
import { type LabelInput, labelProblem, MAX_LABELS } from './labels.js';

function lineError(line: number, message: string): FalajError {
  return new FalajError('FALAJ_INVALID_ARGUMENT', `line ${line}: ${message}`, { line });
}

const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

interface CsvField {
  text: string;
  quoted: boolean;
}

/** RFC 4180 records with the line each starts on (quoted fields may hold commas, quotes, newlines). */
function* csvRecords(text: string): Generator<{ line: number; fields: CsvField[] }> {
  let i = 0;
  let line = 1;
  const n = text.length;
  if (text.charCodeAt(0) === 0xfeff) i = 1;
  while (i < n) {
    const start = line;
    const fields: CsvField[] = [];
    for (;;) {
      let value = '';
      let quoted = false;
      if (text[i] === '"') {
        quoted = true;
        i++;
        for (;;) {
          if (i >= n) throw lineError(start, 'a quoted field is not closed');
          const ch = text[i]!;
          if (ch === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === '\n') line++;
          value += ch;
          i++;
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r')
          throw lineError(line, 'text after a closing quote');
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') value += text[i++];
      }
      fields.push({ text: value, quoted });
      if (text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    if (fields.length === 1 && fields[0]!.text === '' && !fields[0]!.quoted) continue; // blank line
    yield { line: start, fields };
  }
}

function parseCsv(text: string): LabelInput[] {
  const out: LabelInput[] = [];
  let header: Map<string, number> | undefined;
  for (const { line, fields } of csvRecords(text)) {
    if (!header) {
      header = new Map();
      for (const [i, f] of fields.entries()) {
        const name = f.text.trim().toLowerCase();
        if (!['request_id', 'label', 'row'].includes(name))
          throw lineError(
            line,
            `unknown column '${f.text.slice(0, 50)}' (the header is request_id,label[,row])`,
          );
        if (header.has(name)) throw lineError(line, `column '${name}' appears twice`);
        header.set(name, i);
      }
      if (!header.has('request_id') || !header.has('label'))
        throw lineError(line, 'the header must name request_id and label (and optionally row)');
      continue;
    }
    if (fields.length !== header.size)
      throw lineError(line, `expected ${header.size} fields, found ${fields.length}`);
    const requestId = fields[header.get('request_id')!]!.text;
    const labelField = fields[header.get('label')!]!;
    // An unquoted number is a number (a numeric class or a regression target); quoted stays text.
    const label =
      !labelField.quoted && NUMBER.test(labelField.text.trim())
        ? Number(labelField.text.trim())
        : labelField.text;
    const item: LabelInput = { requestId, label };
    const rowIdx = header.get('row');
    if (rowIdx !== undefined) {
      const raw = fields[rowIdx]!.text.trim();
      if (raw !== '') {
        if (!/^\d+$/.test(raw)) throw lineError(line, 'row must be an integer >= 0');
        item.row = Number(raw);
      }
    }
    push(out, item, line);
  }
  if (!header) throw lineError(1, 'the file is empty (the header is request_id,label[,row])');
  return out;
}

function push(out: LabelInput[], item: LabelInput, line: number): void {
  const problem = labelProblem(item);
  if (problem) throw lineError(line, problem);
  if (out.length >= MAX_LABELS) throw lineError(line, `more than ${MAX_LABELS} labels in one file`);
  out.push(item);
}

function parseJsonLines(text: string): LabelInput[] {
  const out: LabelInput[] = [];
  const lines = text.split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    const t = raw.trim();
    if (t === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      throw lineError(line, 'not valid JSON');
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw lineError(line, 'expected an object');
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!['request_id', 'label', 'row'].includes(k))
        throw lineError(line, `unknown field '${k.slice(0, 50)}'`);
    const item = { requestId: o.request_id, label: o.label } as LabelInput;
    if (o.row !== undefined && o.row !== null) item.row = o.row as number;
    push(out, item, line);
  }
  return out;
}

/** Parses a bulk label file by its content type (text/csv, or application/x-ndjson and kin). */
export function parseLabelFile(text: string, contentType: string): LabelInput[] {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'text/csv' || type === 'application/csv') return parseCsv(text);
  if (
    [
      'application/x-ndjson',
      'application/ndjson',
      'application/jsonl',
      'application/x-jsonlines',
      'application/jsonlines',
      'application/json-lines',
    ].includes(type)
  )
    return parseJsonLines(text);
  throw new FalajError(
    'FALAJ_UNSUPPORTED_MEDIA_TYPE',
    `label files are text/csv or application/x-ndjson, not '${type.slice(0, 100)}'`,
    { contentType: type.slice(0, 100) },
  );
}
