// The local executor against the conformance suite, on real processes of this machine.
import path from 'node:path';
import { LocalExecutor } from '../../../src/jobs/executors/local.js';
import { conformanceWorkRoot, executorConformance } from './conformance.js';

const root = conformanceWorkRoot('falaj-local-exec-');

executorConformance({
  name: 'local',
  create: () => new LocalExecutor({ stateDir: path.join(root, 'state'), timeoutGraceSeconds: 1 }),
  workRoot: root,
  unknownExternalId: 'no-such-job.1.999999',
});
