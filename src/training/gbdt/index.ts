// Histogram gradient-boosted trees: training, the fitted model and its serialisable state.
export { GbdtModel, type ImportanceType } from './model.js';
export type { GbdtObjective, GbdtOptions, GbdtParams, RoundInfo } from './params.js';
export type { GbdtFeature, GbdtState, GbdtTrees } from './state.js';
export { type GbdtTrainOptions, trainGbdt, trainGbdtSync } from './train.js';
