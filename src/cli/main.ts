import { Command } from 'commander';
import { VERSION } from '../core/version.js';
import { registerAgentCommand } from './commands/agent.js';
import { registerAgentsCommands } from './commands/agents.js';
import { registerArtifactCommands } from './commands/artifacts.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerDataCommands } from './commands/data.js';
import { registerDeploymentCommands } from './commands/deployments.js';
import { registerExperimentCommands } from './commands/experiments.js';
import { registerJobCommands } from './commands/jobs.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerLineageCommands } from './commands/lineage.js';
import { registerLoginCommands } from './commands/login.js';
import { registerMfaCommands } from './commands/mfa.js';
import { registerModelCommands } from './commands/models.js';
import { registerModelStagingCommands } from './commands/models-staging.js';
import { registerProjectCommands } from './commands/projects.js';
import { registerRunCommands } from './commands/runs.js';
import { registerSecretCommands } from './commands/secrets.js';
import { registerServeCommand } from './commands/serve.js';
import { registerServerCommand } from './commands/server.js';
import { registerTokenCommands } from './commands/tokens.js';
import { registerTrainCommands } from './commands/train.js';
import { registerUserCommands } from './commands/users.js';

export function buildProgram(): Command {
  const program = new Command('falaj')
    .description('Falaj: the MLOps platform regulated enterprises trust')
    .version(VERSION)
    .showHelpAfterError();
  registerServerCommand(program);
  registerLoginCommands(program);
  registerUserCommands(program);
  registerProjectCommands(program);
  registerTokenCommands(program);
  registerMfaCommands(program);
  registerAuditCommands(program);
  registerKeyCommands(program);
  registerArtifactCommands(program);
  registerExperimentCommands(program);
  registerRunCommands(program);
  registerDataCommands(program);
  registerTrainCommands(program);
  registerModelStagingCommands(registerModelCommands(program));
  registerDeploymentCommands(program);
  registerLineageCommands(program);
  registerJobCommands(program);
  registerSecretCommands(program);
  registerAgentCommand(program);
  registerAgentsCommands(program);
  registerServeCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
