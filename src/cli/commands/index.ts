// Every verb, in the order `kiln --help` lists them.
import type { CommandDef } from '../command.js';
import { initCommand } from './init.js';
import { appListCommand, appTagCommand } from './app.js';
import { releaseCreateCommand, releaseDiffCommand, releaseListCommand, releaseShowCommand } from './release.js';
import { serverCommand } from './server.js';
import { deployCommand } from './deploy.js';
import { statusCommand } from './status.js';
import { rollbackCommand } from './rollback.js';
import { proxyCommand } from './proxy.js';
import { schemaCommand } from './schema.js';
import { downCommand } from './down.js';
import { OS_COMMANDS } from './os.js';
import { IMAGE_COMMANDS } from './image.js';
import { verifyCommand } from './verify.js';
import { DATA_COMMANDS } from './data.js';
import { secretListCommand, secretSetCommand } from './secret.js';
import { logsCommand } from './logs.js';
import { flagsCommand } from './flags.js';

export const COMMANDS: CommandDef[] = [
  initCommand,
  appTagCommand,
  appListCommand,
  releaseCreateCommand,
  releaseListCommand,
  releaseShowCommand,
  releaseDiffCommand,
  ...OS_COMMANDS,
  ...IMAGE_COMMANDS,
  verifyCommand,
  ...DATA_COMMANDS,
  secretSetCommand,
  secretListCommand,
  serverCommand,
  deployCommand,
  statusCommand,
  logsCommand,
  flagsCommand,
  rollbackCommand,
  downCommand,
  proxyCommand,
  schemaCommand,
];
