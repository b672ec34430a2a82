// A string column of a request as the training library's categorical column: codes into the
// batch's distinct strings, matched to the model's levels by name where the model reads them.
import type { Column } from '../../training/frame.js';

/** A string column as codes into the distinct non-null strings of the batch (-1 = missing). */
export function categorical(name: string, data: readonly (string | null)[], rows: number): Column {
  const codes = new Int32Array(rows);
  if (rows === 1) {
    const v = data[0];
    if (v === null || v === undefined) {
      codes[0] = -1;
      return { kind: 'categorical', name, codes, levels: [] };
    }
    return { kind: 'categorical', name, codes, levels: [v] };
  }
  const index = new Map<string, number>();
  const levels: string[] = [];
  for (let i = 0; i < rows; i++) {
    const v = data[i];
    if (v === null || v === undefined) {
      codes[i] = -1;
      continue;
    }
    let c = index.get(v);
    if (c === undefined) {
      c = levels.length;
      levels.push(v);
      index.set(v, c);
    }
    codes[i] = c;
  }
  return { kind: 'categorical', name, codes, levels };
}
