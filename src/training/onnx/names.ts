// Graph input names for feature columns. Column names are arbitrary text ("age (years)",
// "", "x.1"); ONNX tooling and the KServe V2 protocol prefer identifiers. Each column gets a
// sanitised, unique input name, and the column → input mapping is written into the model's
// metadata so that clients (and onnxPredict) can still feed columns by their own names.

/** Internal value names start with this; a sanitised input name never contains ':'. */
export const INTERNAL_PREFIX = 'falaj:';

/** The graph's output names. */
export const OUTPUT_PROBABILITIES = 'probabilities';
export const OUTPUT_LABEL = 'label';
export const OUTPUT_PREDICTION = 'prediction';
const RESERVED = new Set([OUTPUT_PROBABILITIES, OUTPUT_LABEL, OUTPUT_PREDICTION]);

export interface InputBinding {
  /** The frame column (the model's feature name). */
  readonly column: string;
  /** The graph input fed with it. */
  readonly input: string;
  /** numeric → tensor(double) [N, 1]; categorical → tensor(string) [N, 1]. */
  readonly kind: 'numeric' | 'categorical';
  /**
   * Categorical only: a string that is none of the model's levels, fed for a missing value.
   * Any string the model never saw counts as missing; this one is guaranteed not to be a level.
   */
  readonly missing?: string;
}

function sanitise(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  // Identifiers cannot be empty or start with a digit.
  return s === '' || /^[0-9]/.test(s) ? `f_${s}` : s;
}

/**
 * A string that is not among `levels`: "" unless that is a level, else "(missing)" with as many
 * '*' as it takes. (Not NUL characters: onnxruntime-node cuts strings at the first NUL, so
 * "\u0000" would arrive as "".)
 */
function missingToken(levels: readonly string[]): string {
  const set = new Set(levels);
  if (!set.has('')) return '';
  let token = '(missing)';
  while (set.has(token)) token += '*';
  return token;
}

/**
 * One binding per feature, in feature order. Names are unique, never one of the output names,
 * and depend only on the feature list (so exports are reproducible).
 */
export function bindInputs(
  features: readonly { name: string; kind: 'numeric' | 'categorical'; levels?: readonly string[] }[],
): InputBinding[] {
  const used = new Set<string>(RESERVED);
  return features.map((f) => {
    const base = sanitise(f.name);
    let input = base;
    for (let k = 2; used.has(input); k++) input = `${base}_${k}`;
    used.add(input);
    return f.kind === 'numeric'
      ? { column: f.name, input, kind: 'numeric' }
      : { column: f.name, input, kind: 'categorical', missing: missingToken(f.levels ?? []) };
  });
}
