// Prediction by generated code: each group of trees becomes one JavaScript function of nested
// comparisons with the thresholds, features and leaf values as literals, so V8 compiles every
// node to a load, a compare against an immediate and a jump (about ten times faster than walking
// node arrays). Only numbers from a validated state reach the source text. Models too large
// for this (or a runtime that forbids code generation) use the array walker in model.ts.
import type { GbdtState } from './state.js';

/** Adds the scores of rows [0, m) of the row-major block X (F columns) into out (row r0 + i, output k). */
export type BlockScorer = (X: Float64Array, m: number, out: Float64Array, r0: number) => void;

/** Nodes per generated function: keeps each one under V8's size limit for optimisation. */
const NODES_PER_FUNCTION = 600;
/** Deeper trees would nest expressions past what parsers like: those models use the walker. */
const MAX_DEPTH = 200;

function literal(x: number): string {
  // String() round-trips doubles exactly; -0 must stay a number literal.
  return Object.is(x, -0) ? '-0' : String(x);
}

/** Category bitsets for categorical nodes, collected while generating. */
class Bitsets {
  readonly words: number[] = [];
  add(categories: Int32Array, nCategories: number): number {
    const start = this.words.length;
    for (let w = 0; w < Math.ceil(nCategories / 32); w++) this.words.push(0);
    for (const c of categories)
      this.words[start + (c >>> 5)] = ((this.words[start + (c >>> 5)] as number) | (1 << (c & 31))) >>> 0;
    return start;
  }
}

function treeDepth(s: GbdtState, a: number, node: number): number {
  const t = s.trees;
  if ((t.feature[a + node] as number) < 0) return 0;
  return (
    1 + Math.max(treeDepth(s, a, t.left[a + node] as number), treeDepth(s, a, t.right[a + node] as number))
  );
}

function expr(s: GbdtState, a: number, node: number, bits: Bitsets): string {
  const t = s.trees;
  const n = a + node;
  const f = t.feature[n] as number;
  if (f < 0) return literal(t.value[n] as number);
  const l = expr(s, a, t.left[n] as number, bits);
  const r = expr(s, a, t.right[n] as number, bits);
  const x = `X[b + ${f}]`;
  const feature = s.features[f];
  if (feature?.kind === 'categorical') {
    const cs = t.catStart[n] as number;
    const set = t.categories.subarray(cs, cs + (t.catCount[n] as number));
    // A missing value (NaN, or a level the model never saw) fails `x === x`. Up to 32 levels the
    // set is one literal mask (no load, no call); more read the bitset words C.
    const missing = t.missingLeft[n] === 1 ? l : r;
    if (feature.categories.length <= 32) {
      let mask = 0;
      for (const c of set) mask = (mask | (1 << c)) >>> 0;
      return `(${x} !== ${x} ? ${missing} : ((${mask} >>> ${x}) & 1) === 1 ? ${l} : ${r})`;
    }
    const off = bits.add(set, feature.categories.length);
    return `(${x} !== ${x} ? ${missing} : ((C[${off} + (${x} >>> 5)] >>> (${x} & 31)) & 1) === 1 ? ${l} : ${r})`;
  }
  const thr = literal(t.threshold[n] as number);
  // NaN fails every comparison, so the form of the test carries the missing direction.
  return t.missingLeft[n] === 1 ? `(${x} > ${thr} ? ${r} : ${l})` : `(${x} <= ${thr} ? ${l} : ${r})`;
}

/** The generated scorer for a state, or null when the model must use the array walker. */
export function compileEnsemble(s: GbdtState): BlockScorer | null {
  const t = s.trees;
  const nTrees = t.nodeOffset.length - 1;
  const K = s.nOutputs;
  const F = s.features.length;
  const bits = new Bitsets();
  const groups: { k: number; body: string[] }[] = [];
  try {
    for (let k = 0; k < K; k++) {
      let body: string[] = [];
      let nodes = 0;
      for (let tr = k; tr < nTrees; tr += K) {
        const a = t.nodeOffset[tr] as number;
        const size = (t.nodeOffset[tr + 1] as number) - a;
        if (size > NODES_PER_FUNCTION || treeDepth(s, a, 0) > MAX_DEPTH) return null;
        if (nodes + size > NODES_PER_FUNCTION && body.length > 0) {
          groups.push({ k, body });
          body = [];
          nodes = 0;
        }
        body.push(`s += ${expr(s, a, 0, bits)};`);
        nodes += size;
      }
      if (body.length > 0) groups.push({ k, body });
    }
    const C = Uint32Array.from(bits.words);
    const fns = groups.map(({ k, body }) => {
      const src =
        `"use strict";\nfor (let i = 0; i < m; i++) {\nconst b = i * ${F};\nlet s = 0;\n${body.join('\n')}\n` +
        `const o = (r0 + i) * ${K} + ${k};\nout[o] += s;\n}`;
      const fn = new Function('X', 'm', 'out', 'r0', 'C', src) as (
        X: Float64Array,
        m: number,
        out: Float64Array,
        r0: number,
        C: Uint32Array,
      ) => void;
      return fn;
    });
    return (X, m, out, r0) => {
      for (const fn of fns) fn(X, m, out, r0, C);
    };
  } catch {
    // Code generation disallowed (--disallow-code-generation-from-strings) or a parser limit.
    return null;
  }
}
