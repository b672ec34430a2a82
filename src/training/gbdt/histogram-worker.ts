// A histogram worker: waits on the shared control word, builds its share of the features
// (every nThreads-th feature of the list, starting at its thread number), reports done.
import { parentPort, workerData } from 'node:worker_threads';
import type { BinArray } from './binning.js';
import { buildFeatureHistograms, type HistogramData } from './histogram.js';
import { CMD_BUILD, CTRL, type WorkerInit } from './histogram-pool.js';

const init = workerData as WorkerInit;
const ctrl = new Int32Array(init.ctrl);
const bins: BinArray = init.wideBins ? new Uint16Array(init.bins) : new Uint8Array(init.bins);
const d: HistogramData = {
  nRows: init.nRows,
  bins,
  binOffsets: init.binOffsets,
  rowIndex: new Uint32Array(init.rowIndex),
  grad: new Float64Array(init.grad),
  hess: new Float64Array(init.hess),
  orderedGrad: new Float64Array(init.orderedGrad),
  orderedHess: new Float64Array(init.orderedHess),
  hist: new Float64Array(init.hist),
  slotSize: init.slotSize,
};

// The generation is read before saying ready: the pool may start a build the moment it hears
// from us, and a generation read after that could already count the build, which would then
// never be done here (the pool would wait for this worker forever).
let seen = Atomics.load(ctrl, CTRL.GEN);
parentPort?.postMessage('ready');
for (;;) {
  Atomics.wait(ctrl, CTRL.GEN, seen);
  seen = Atomics.load(ctrl, CTRL.GEN);
  if (ctrl[CTRL.CMD] !== CMD_BUILD) break;
  try {
    const step = ctrl[CTRL.THREADS] as number;
    const n = ctrl[CTRL.N_FEATURES] as number;
    const slot = ctrl[CTRL.SLOT] as number;
    const start = ctrl[CTRL.START] as number;
    const end = ctrl[CTRL.END] as number;
    const gOff = ctrl[CTRL.GRAD_OFFSET] as number;
    const contiguous = ctrl[CTRL.CONTIGUOUS] === 1;
    const features = ctrl.subarray(CTRL.FEATURES, CTRL.FEATURES + n);
    buildFeatureHistograms(d, features, init.thread, step, n, slot, start, end, gOff, contiguous);
  } catch {
    Atomics.store(ctrl, CTRL.ERROR, 1);
  }
  Atomics.add(ctrl, CTRL.DONE, 1);
  Atomics.notify(ctrl, CTRL.DONE);
}
parentPort?.close();
