// The local executor against the conformance suite, on real processes of this machine, in the
// job sandbox as a server runs it.
import path from 'node:path';
import { LocalExecutor } from '../../../src/jobs/executors/local.js';
import { resolveSandbox } from '../../../src/jobs/sandbox/sandbox-setup.js';
import { conformanceWorkRoot, executorConformance } from './conformance.js';

const dataDir = conformanceWorkRoot('falaj-local-exec-');
const root = path.join(dataDir, 'jobs');
const sandbox = resolveSandbox({ hidden: [dataDir] });

executorConformance({
  name: 'local',
  create: () => new LocalExecutor({ stateDir: path.join(root, 'state'), timeoutGraceSeconds: 1, sandbox }),
  workRoot: root,
  dataDir,
  unknownExternalId: 'no-such-job.1.999999',
});
