// The package entry: `import { Falaj } from 'falaj'`. The server and CLI are reached through
// `bin/falaj.js`; what is exported here is the client SDK.
export * from './sdk/index.js';
