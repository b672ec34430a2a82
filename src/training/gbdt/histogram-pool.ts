// Histogram building on one or several threads. Features are dealt round-robin to threads
// (this one included) and each feature's histogram is built by the same kernel, so the result
// is bit-identical for any thread count. Workers block on a shared control word (Atomics)
// instead of messages, which keeps the per-node hand-off to microseconds.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FalajError } from '../../core/errors.js';
import { buildFeatureHistograms, type HistogramData } from './histogram.js';

/** Control words shared with the workers. */
export const CTRL = {
  GEN: 0,
  CMD: 1,
  DONE: 2,
  ERROR: 3,
  SLOT: 4,
  START: 5,
  END: 6,
  GRAD_OFFSET: 7,
  CONTIGUOUS: 8,
  THREADS: 9,
  N_FEATURES: 10,
  FEATURES: 16,
} as const;
export const CMD_BUILD = 1;
export const CMD_QUIT = 2;

/** What a worker receives once, at start. */
export interface WorkerInit {
  readonly thread: number;
  readonly ctrl: SharedArrayBuffer;
  readonly nRows: number;
  readonly bins: SharedArrayBuffer;
  readonly wideBins: boolean;
  readonly binOffsets: Int32Array;
  readonly rowIndex: SharedArrayBuffer;
  readonly grad: SharedArrayBuffer;
  readonly hess: SharedArrayBuffer;
  readonly orderedGrad: SharedArrayBuffer;
  readonly orderedHess: SharedArrayBuffer;
  readonly hist: SharedArrayBuffer;
  readonly slotSize: number;
}

/** Below this many row×feature updates a node is not worth waking the workers for. */
const MIN_PARALLEL_WORK = 100_000;

function sab(a: { buffer: ArrayBufferLike }): SharedArrayBuffer {
  if (!(a.buffer instanceof SharedArrayBuffer))
    throw new Error('histogram data must live on SharedArrayBuffers');
  return a.buffer;
}

/** The worker script: compiled JS beside this module, or (running from TS sources) a tsx bootstrap. */
function workerUrl(): URL {
  const js = new URL('./histogram-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return js;
  return new URL('./histogram-worker-dev.mjs', import.meta.url);
}

export class HistogramPool {
  private features: Int32Array = new Int32Array(0);
  private nFeatures = 0;
  /** Row×feature histogram updates done and the wall seconds spent building them. */
  updates = 0;
  seconds = 0;

  private constructor(
    private readonly d: HistogramData,
    private readonly workers: Worker[],
    private readonly ctrl: Int32Array,
  ) {}

  /** Builds everything on the calling thread. */
  static serial(d: HistogramData, maxFeatures: number): HistogramPool {
    return new HistogramPool(d, [], new Int32Array(new SharedArrayBuffer((CTRL.FEATURES + maxFeatures) * 4)));
  }

  /** A pool of `nThreads` threads (nThreads - 1 workers); one thread starts no worker. */
  static async create(d: HistogramData, nThreads: number, maxFeatures: number): Promise<HistogramPool> {
    if (nThreads <= 1) return HistogramPool.serial(d, maxFeatures);
    const ctrl = new Int32Array(new SharedArrayBuffer((CTRL.FEATURES + maxFeatures) * 4));
    ctrl[CTRL.THREADS] = nThreads;
    const workers: Worker[] = [];
    const url = workerUrl();
    try {
      await Promise.all(
        Array.from({ length: nThreads - 1 }, (_, i) => {
          const init: WorkerInit = {
            thread: i + 1,
            ctrl: ctrl.buffer as SharedArrayBuffer,
            nRows: d.nRows,
            bins: sab(d.bins),
            wideBins: d.bins instanceof Uint16Array,
            binOffsets: d.binOffsets,
            rowIndex: sab(d.rowIndex),
            grad: sab(d.grad),
            hess: sab(d.hess),
            orderedGrad: sab(d.orderedGrad),
            orderedHess: sab(d.orderedHess),
            hist: sab(d.hist),
            slotSize: d.slotSize,
          };
          const w = new Worker(url, { workerData: init });
          workers.push(w);
          return new Promise<void>((resolve, reject) => {
            w.once('message', () => resolve());
            w.once('error', reject);
            w.once('exit', (code) => reject(new Error(`histogram worker exited with code ${code}`)));
          });
        }),
      );
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw new FalajError('FALAJ_INTERNAL', `could not start histogram workers: ${String(err)}`);
    }
    for (const w of workers) w.removeAllListeners();
    return new HistogramPool(d, workers, ctrl);
  }

  get threads(): number {
    return this.workers.length + 1;
  }

  /** The features whose histograms the next builds compute (the tree's column sample). */
  setFeatures(features: Int32Array): void {
    this.features = features;
    this.nFeatures = features.length;
    this.ctrl.set(features, CTRL.FEATURES);
    this.ctrl[CTRL.N_FEATURES] = features.length;
  }

  /** Histograms of the current features over rowIndex[start..end) into `slot`. */
  build(slot: number, start: number, end: number, gradOffset: number, contiguous: boolean): void {
    const t0 = performance.now();
    this.updates += (end - start) * this.nFeatures;
    this.buildInner(slot, start, end, gradOffset, contiguous);
    this.seconds += (performance.now() - t0) / 1000;
  }

  private buildInner(
    slot: number,
    start: number,
    end: number,
    gradOffset: number,
    contiguous: boolean,
  ): void {
    const d = this.d;
    if (!contiguous) {
      // Gather the node's gradients once, in row order, so every feature reads them sequentially.
      const { rowIndex, grad, hess, orderedGrad, orderedHess } = d;
      for (let j = start; j < end; j++) {
        const r = gradOffset + (rowIndex[j] as number);
        orderedGrad[j] = grad[r] as number;
        orderedHess[j] = hess[r] as number;
      }
    }
    const nWorkers = this.workers.length;
    const features = this.features;
    if (nWorkers === 0 || (end - start) * this.nFeatures < MIN_PARALLEL_WORK) {
      buildFeatureHistograms(d, features, 0, 1, this.nFeatures, slot, start, end, gradOffset, contiguous);
      return;
    }
    const ctrl = this.ctrl;
    ctrl[CTRL.SLOT] = slot;
    ctrl[CTRL.START] = start;
    ctrl[CTRL.END] = end;
    ctrl[CTRL.GRAD_OFFSET] = gradOffset;
    ctrl[CTRL.CONTIGUOUS] = contiguous ? 1 : 0;
    ctrl[CTRL.CMD] = CMD_BUILD;
    Atomics.store(ctrl, CTRL.DONE, 0);
    Atomics.add(ctrl, CTRL.GEN, 1);
    Atomics.notify(ctrl, CTRL.GEN);
    const step = nWorkers + 1;
    buildFeatureHistograms(d, features, 0, step, this.nFeatures, slot, start, end, gradOffset, contiguous);
    for (;;) {
      const done = Atomics.load(ctrl, CTRL.DONE);
      if (done >= nWorkers) break;
      Atomics.wait(ctrl, CTRL.DONE, done);
    }
    if (Atomics.load(ctrl, CTRL.ERROR) !== 0) {
      throw new FalajError('FALAJ_INTERNAL', 'a histogram worker failed');
    }
  }

  /** Stops and terminates every worker; safe to call twice. */
  async close(): Promise<void> {
    if (this.workers.length === 0) return;
    this.ctrl[CTRL.CMD] = CMD_QUIT;
    Atomics.add(this.ctrl, CTRL.GEN, 1);
    Atomics.notify(this.ctrl, CTRL.GEN);
    const ws = this.workers.splice(0);
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
