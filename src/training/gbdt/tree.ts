// One regression tree as trained: nodes in creation order (root 0, children always after their
// parent), with the split both in raw value space (for the model) and as a bin lookup (to route
// binned rows during training: out-of-bag rows and the validation set).
import type { BinArray } from './binning.js';

export class Tree {
  /** Split feature, -1 at a leaf. */
  readonly feature: number[] = [];
  /** Numeric split: `x <= threshold` goes left. NaN for categorical splits and leaves. */
  readonly threshold: number[] = [];
  /** Where missing values (NaN, code -1, unseen level) go. */
  readonly missingLeft: boolean[] = [];
  /** Categorical split: sorted category indices that go left; null otherwise. */
  readonly categoriesLeft: (Int32Array | null)[] = [];
  readonly left: number[] = [];
  readonly right: number[] = [];
  /** Leaf output (learning rate applied); 0 for internal nodes. */
  readonly value: number[] = [];
  /** Loss reduction of the split (0 at leaves). */
  readonly gain: number[] = [];
  /** Hessian sum and row count of the node's training rows. */
  readonly cover: number[] = [];
  readonly count: number[] = [];
  /** Per internal node: 1 where the bin goes left (indexed by bin, missing bin last). */
  readonly binGoesLeft: (Uint8Array | null)[] = [];

  get size(): number {
    return this.feature.length;
  }

  addNode(cover: number, count: number): number {
    this.feature.push(-1);
    this.threshold.push(Number.NaN);
    this.missingLeft.push(false);
    this.categoriesLeft.push(null);
    this.left.push(-1);
    this.right.push(-1);
    this.value.push(0);
    this.gain.push(0);
    this.cover.push(cover);
    this.count.push(count);
    this.binGoesLeft.push(null);
    return this.feature.length - 1;
  }

  /** Output of binned row `row` (bins column-major with nRows rows). */
  predictBinned(bins: BinArray, nRows: number, row: number): number {
    let node = 0;
    for (;;) {
      const f = this.feature[node] as number;
      if (f < 0) return this.value[node] as number;
      const goLeft = this.binGoesLeft[node] as Uint8Array;
      node =
        goLeft[bins[f * nRows + row] as number] === 1
          ? (this.left[node] as number)
          : (this.right[node] as number);
    }
  }
}
