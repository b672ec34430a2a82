// The package entry: `import { Falaj } from 'falaj'` (the client SDK) and the built-in training
// engine (`runTraining`, `trainGbdt`, `exportOnnx`, ...). The server and CLI are reached through
// `bin/falaj.js`.
export * from './sdk/index.js';
export * from './training/index.js';
