// The scheduler core: a pure library that decides admissions, placements and preemptions.
// The jobs domain's scheduler loop builds a snapshot from its tables, calls schedule(), applies
// the decision, and keeps the fair-share history with accrueUsage().
export { accrueUsage, currentShares, DEFAULT_HALF_LIFE_SECONDS } from './fair-share.js';
export { schedule } from './schedule.js';
export { type SimJob, Simulation, type SimulationOptions, type SimulationStats } from './simulation.js';
export { pendingJobFromSpec } from './spec.js';
export type * from './types.js';
export { validateConfig, validateJob, validateNodes } from './validate.js';
