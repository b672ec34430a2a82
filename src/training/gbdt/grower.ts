// Leaf-wise (best-first) growth of one tree on gradient histograms. The leaf with the largest
// gain splits next; of its two children only the smaller gets a histogram built from rows, the
// larger one is the parent's minus it (the subtraction trick).
import type { BinnedData } from './binning.js';
import { HIST_STRIDE, type HistogramData } from './histogram.js';
import type { HistogramPool } from './histogram-pool.js';
import type { GbdtParams } from './params.js';
import { Tree } from './tree.js';

interface Split {
  gain: number;
  feature: number;
  /** Numeric: last value bin going left (value bins only). */
  bin: number;
  missingLeft: boolean;
  /** Categorical: value bins going left. */
  leftBins: Int32Array | null;
  lG: number;
  lH: number;
  lC: number;
}

interface Leaf {
  node: number;
  start: number;
  end: number;
  depth: number;
  G: number;
  H: number;
  C: number;
  /** Histogram slot, -1 when none is held. */
  slot: number;
  split: Split | null;
}

/** A finished leaf: its node and the rows it holds, rowIndex[start..end). */
export interface LeafRows {
  readonly node: number;
  readonly start: number;
  readonly end: number;
}

export class TreeGrower {
  private readonly free: number[] = [];
  private readonly tmp: Uint32Array;
  private features: Int32Array = new Int32Array(0);
  /** Leaves still holding a slot, for eviction when slots run out. */
  private holders: Leaf[] = [];

  constructor(
    private readonly data: BinnedData,
    private readonly hd: HistogramData,
    private readonly pool: HistogramPool,
    private readonly p: GbdtParams,
    nSlots: number,
  ) {
    for (let s = nSlots - 1; s >= 0; s--) this.free.push(s);
    this.tmp = new Uint32Array(data.nRows);
  }

  /**
   * Grows a tree on rowIndex[0..m) with gradients of output at `gradOffset`; `contiguous`
   * when rowIndex is the identity (all rows). Leaf values are -G/(H+λ) (before shrinkage),
   * or `refit` where the objective has an exact leaf value.
   */
  grow(
    m: number,
    gradOffset: number,
    contiguous: boolean,
    features: Int32Array,
    refit: ((start: number, end: number) => number) | undefined,
  ): { tree: Tree; leaves: LeafRows[] } {
    const { hd, p } = this;
    this.features = features;
    this.pool.setFeatures(features);
    const tree = new Tree();
    let G = 0;
    let H = 0;
    const { grad, hess, rowIndex } = hd;
    for (let j = 0; j < m; j++) {
      const r = gradOffset + (contiguous ? j : (rowIndex[j] as number));
      G += grad[r] as number;
      H += hess[r] as number;
    }
    const root: Leaf = {
      node: tree.addNode(H, m),
      start: 0,
      end: m,
      depth: 0,
      G,
      H,
      C: m,
      slot: -1,
      split: null,
    };
    if (this.splittable(root)) {
      root.slot = this.alloc(root);
      this.pool.build(root.slot, 0, m, gradOffset, contiguous);
      root.split = this.findSplit(root);
    }
    const leaves: Leaf[] = [root];
    while (leaves.length < p.maxLeaves) {
      let best = -1;
      let bestGain = p.minGainToSplit;
      for (let i = 0; i < leaves.length; i++) {
        const s = (leaves[i] as Leaf).split;
        if (s && s.gain > bestGain) {
          bestGain = s.gain;
          best = i;
        }
      }
      if (best < 0) break;
      const parent = leaves[best] as Leaf;
      const [l, r] = this.splitLeaf(tree, parent, gradOffset);
      leaves[best] = l;
      leaves.push(r);
    }
    for (const leaf of leaves) this.release(leaf);
    const lr = p.learningRate;
    for (const leaf of leaves) {
      const denom = leaf.H + p.lambdaL2;
      const v = refit ? refit(leaf.start, leaf.end) : denom > 0 ? -leaf.G / denom : 0;
      tree.value[leaf.node] = v * lr;
    }
    return { tree, leaves: leaves.map((l) => ({ node: l.node, start: l.start, end: l.end })) };
  }

  private splittable(l: Leaf): boolean {
    const p = this.p;
    return (
      l.C >= 2 * p.minSamplesLeaf && l.H >= 2 * p.minChildWeight && (p.maxDepth < 0 || l.depth < p.maxDepth)
    );
  }

  private alloc(owner: Leaf): number {
    let s = this.free.pop();
    if (s === undefined) {
      // Out of slots: take the one of the pending leaf with the lowest gain; if it splits
      // later both its children are built from rows instead of by subtraction.
      let victim = 0;
      for (let i = 1; i < this.holders.length; i++) {
        if (((this.holders[i] as Leaf).split?.gain ?? 0) < ((this.holders[victim] as Leaf).split?.gain ?? 0))
          victim = i;
      }
      const v = this.holders[victim] as Leaf;
      this.holders.splice(victim, 1);
      s = v.slot;
      v.slot = -1;
    }
    this.holders.push(owner);
    return s;
  }

  private release(l: Leaf): void {
    if (l.slot < 0) return;
    this.free.push(l.slot);
    const i = this.holders.indexOf(l);
    if (i >= 0) this.holders.splice(i, 1);
    l.slot = -1;
  }

  private splitLeaf(tree: Tree, parent: Leaf, gradOffset: number): [Leaf, Leaf] {
    const s = parent.split as Split;
    const { data, hd } = this;
    const b = data.binnings[s.feature];
    if (!b) throw new Error('split on an unknown feature');
    const nBins = b.nBins;
    const goLeft = new Uint8Array(nBins);
    if (s.leftBins) for (const x of s.leftBins) goLeft[x] = 1;
    else for (let x = 0; x <= s.bin; x++) goLeft[x] = 1;
    goLeft[nBins - 1] = s.missingLeft ? 1 : 0;

    // Stable in-place partition of the parent's rows: left rows compact forward, right rows
    // go through a buffer. Each row is written to both places and only the matching cursor
    // moves: no branch on the row's side, which a CPU would mispredict about half the time.
    const { rowIndex } = hd;
    const bins = data.bins;
    const col = s.feature * data.nRows;
    const tmp = this.tmp;
    let nl = parent.start;
    let nr = 0;
    for (let j = parent.start; j < parent.end; j++) {
      const r = rowIndex[j] as number;
      const left = goLeft[bins[col + r] as number] as number;
      rowIndex[nl] = r;
      tmp[nr] = r;
      nl += left;
      nr += 1 - left;
    }
    rowIndex.set(tmp.subarray(0, nr), nl);
    if (nl - parent.start !== s.lC) throw new Error('partition disagrees with the histogram');

    const n = parent.node;
    tree.feature[n] = s.feature;
    tree.missingLeft[n] = s.missingLeft;
    tree.gain[n] = s.gain;
    tree.binGoesLeft[n] = goLeft;
    if (b.kind === 'numeric') {
      // The values-vs-missing split (all value bins left) uses +Infinity: every number goes left.
      tree.threshold[n] = s.bin >= b.nBins - 2 ? Number.POSITIVE_INFINITY : (b.edges[s.bin] as number);
    } else {
      const cats: number[] = [];
      for (const x of s.leftBins as Int32Array)
        for (const c of b.binCategories[x] as Int32Array) cats.push(c);
      tree.categoriesLeft[n] = Int32Array.from(cats).sort();
    }
    const rG = parent.G - s.lG;
    const rH = parent.H - s.lH;
    const rC = parent.C - s.lC;
    const ln = tree.addNode(s.lH, s.lC);
    const rn = tree.addNode(rH, rC);
    tree.left[n] = ln;
    tree.right[n] = rn;
    const depth = parent.depth + 1;
    const l: Leaf = {
      node: ln,
      start: parent.start,
      end: nl,
      depth,
      G: s.lG,
      H: s.lH,
      C: s.lC,
      slot: -1,
      split: null,
    };
    const r: Leaf = {
      node: rn,
      start: nl,
      end: parent.end,
      depth,
      G: rG,
      H: rH,
      C: rC,
      slot: -1,
      split: null,
    };

    const lOk = this.splittable(l);
    const rOk = this.splittable(r);
    const [small, large] = l.C <= r.C ? [l, r] : [r, l];
    const smallOk = small === l ? lOk : rOk;
    const largeOk = small === l ? rOk : lOk;
    if (largeOk && parent.slot >= 0) {
      // Build the small child, then turn the parent's histogram into the large child's.
      small.slot = this.alloc(small);
      this.pool.build(small.slot, small.start, small.end, gradOffset, false);
      this.holders.splice(this.holders.indexOf(parent), 1);
      large.slot = parent.slot;
      parent.slot = -1;
      this.holders.push(large);
      this.subtract(large.slot, small.slot);
    } else {
      this.release(parent);
      if (smallOk) {
        small.slot = this.alloc(small);
        this.pool.build(small.slot, small.start, small.end, gradOffset, false);
      }
      if (largeOk) {
        large.slot = this.alloc(large);
        this.pool.build(large.slot, large.start, large.end, gradOffset, false);
      }
    }
    if (!smallOk) this.release(small);
    for (const c of [l, r]) {
      if (c.slot < 0) continue;
      c.split = this.findSplit(c);
      if (!c.split) this.release(c);
    }
    return [l, r];
  }

  /** hist[target] -= hist[sub] over the current features' bins. */
  private subtract(target: number, sub: number): void {
    const { hist, slotSize } = this.hd;
    const offs = this.data.binOffsets;
    const t0 = target * slotSize;
    const s0 = sub * slotSize;
    for (const f of this.features) {
      const a = (offs[f] as number) * HIST_STRIDE;
      const z = (offs[f + 1] as number) * HIST_STRIDE;
      for (let i = a; i < z; i++) hist[t0 + i] = (hist[t0 + i] as number) - (hist[s0 + i] as number);
    }
  }

  private findSplit(leaf: Leaf): Split | null {
    let best: Split | null = null;
    for (const f of this.features) {
      const b = this.data.binnings[f];
      if (!b || b.nBins < 2) continue;
      const s =
        b.kind === 'numeric' ? this.numericSplit(leaf, f, b.nBins) : this.categoricalSplit(leaf, f, b.nBins);
      if (s && (!best || s.gain > best.gain)) best = s;
    }
    return best;
  }

  private numericSplit(leaf: Leaf, f: number, nBins: number): Split | null {
    const { hist, slotSize } = this.hd;
    const p = this.p;
    const lambda = p.lambdaL2;
    const minC = p.minSamplesLeaf;
    const minH = p.minChildWeight;
    const { G, H, C } = leaf;
    const base = leaf.slot * slotSize + (this.data.binOffsets[f] as number) * HIST_STRIDE;
    const M = nBins - 1;
    const mG = hist[base + M * 3] as number;
    const mH = hist[base + M * 3 + 1] as number;
    const mC = hist[base + M * 3 + 2] as number;
    const parentScore = H + lambda > 0 ? (G * G) / (H + lambda) : 0;
    let bestGain = 0;
    let bestBin = -1;
    let bestMissingLeft = false;
    let bestLG = 0;
    let bestLH = 0;
    let bestLC = 0;
    let lG = 0;
    let lH = 0;
    let lC = 0;
    // With missing rows the last value bin may split too: all values left, missing right.
    const lastBin = mC > 0 ? M - 1 : M - 2;
    for (let bin = 0; bin <= lastBin; bin++) {
      const o = base + bin * 3;
      lG += hist[o] as number;
      lH += hist[o + 1] as number;
      lC += hist[o + 2] as number;
      // Missing right.
      let rC = C - lC;
      let rH = H - lH;
      if (lC >= minC && rC >= minC && lH >= minH && rH >= minH) {
        const rG = G - lG;
        const gain = (lG * lG) / (lH + lambda) + (rG * rG) / (rH + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          bestBin = bin;
          bestMissingLeft = false;
          bestLG = lG;
          bestLH = lH;
          bestLC = lC;
        }
      }
      if (mC > 0 && bin < M - 1) {
        // Missing left.
        const aG = lG + mG;
        const aH = lH + mH;
        const aC = lC + mC;
        rC = C - aC;
        rH = H - aH;
        if (aC >= minC && rC >= minC && aH >= minH && rH >= minH) {
          const rG = G - aG;
          const gain = (aG * aG) / (aH + lambda) + (rG * rG) / (rH + lambda) - parentScore;
          if (gain > bestGain) {
            bestGain = gain;
            bestBin = bin;
            bestMissingLeft = true;
            bestLG = aG;
            bestLH = aH;
            bestLC = aC;
          }
        }
      }
    }
    if (bestBin < 0) return null;
    if (mC === 0) {
      // No missing rows here: unseen missing values follow the larger child.
      bestMissingLeft = bestLC > C - bestLC;
    }
    return {
      gain: bestGain,
      feature: f,
      bin: bestBin,
      missingLeft: bestMissingLeft,
      leftBins: null,
      lG: bestLG,
      lH: bestLH,
      lC: bestLC,
    };
  }

  private categoricalSplit(leaf: Leaf, f: number, nBins: number): Split | null {
    const { hist, slotSize } = this.hd;
    const p = this.p;
    const lambda = p.lambdaL2;
    const minC = p.minSamplesLeaf;
    const minH = p.minChildWeight;
    const { G, H, C } = leaf;
    const base = leaf.slot * slotSize + (this.data.binOffsets[f] as number) * HIST_STRIDE;
    const M = nBins - 1;
    const present: number[] = [];
    for (let bin = 0; bin < M; bin++) if ((hist[base + bin * 3 + 2] as number) > 0) present.push(bin);
    const mG = hist[base + M * 3] as number;
    const mH = hist[base + M * 3 + 1] as number;
    const mC = hist[base + M * 3 + 2] as number;
    if (present.length + (mC > 0 ? 1 : 0) < 2) return null;
    // Order categories by gradient/hessian ratio: the best binary partition is a prefix of it
    // (Fisher 1958), smoothed so that tiny categories do not sort to the ends on noise.
    const smooth = p.catSmooth;
    const ratio = (bin: number) =>
      (hist[base + bin * 3] as number) / ((hist[base + bin * 3 + 1] as number) + smooth);
    present.sort((a, b) => ratio(a) - ratio(b) || a - b);
    const parentScore = H + lambda > 0 ? (G * G) / (H + lambda) : 0;
    let bestGain = 0;
    let bestK = -1;
    let bestMissingLeft = false;
    let bestLG = 0;
    let bestLH = 0;
    let bestLC = 0;
    let lG = 0;
    let lH = 0;
    let lC = 0;
    const last = mC > 0 ? present.length : present.length - 1;
    for (let k = 1; k <= last; k++) {
      const o = base + (present[k - 1] as number) * 3;
      lG += hist[o] as number;
      lH += hist[o + 1] as number;
      lC += hist[o + 2] as number;
      for (let side = 0; side < 2; side++) {
        const ml = side === 1;
        if (ml && (mC === 0 || k === present.length)) continue;
        const aG = ml ? lG + mG : lG;
        const aH = ml ? lH + mH : lH;
        const aC = ml ? lC + mC : lC;
        const rC = C - aC;
        const rH = H - aH;
        if (aC < minC || rC < minC || aH < minH || rH < minH) continue;
        const rG = G - aG;
        const gain = (aG * aG) / (aH + lambda) + (rG * rG) / (rH + lambda) - parentScore;
        if (gain > bestGain) {
          bestGain = gain;
          bestK = k;
          bestMissingLeft = ml;
          bestLG = aG;
          bestLH = aH;
          bestLC = aC;
        }
      }
    }
    if (bestK < 0) return null;
    if (mC === 0) bestMissingLeft = bestLC > C - bestLC;
    return {
      gain: bestGain,
      feature: f,
      bin: -1,
      missingLeft: bestMissingLeft,
      leftBins: Int32Array.from(present.slice(0, bestK)).sort(),
      lG: bestLG,
      lH: bestLH,
      lC: bestLC,
    };
  }
}
