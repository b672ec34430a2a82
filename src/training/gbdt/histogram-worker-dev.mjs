// Running from TypeScript sources (vitest, tsx) there is no compiled histogram-worker.js beside
// the module; this bootstrap loads the .ts worker through tsx instead. Compiled builds never use it.
import { tsImport } from 'tsx/esm/api';

await tsImport('./histogram-worker.ts', import.meta.url);
