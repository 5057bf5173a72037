// Every verb, in the order `kiln --help` lists them. Each is loaded only when it runs: a command
// imports the parts it needs (SQLite, PostgreSQL, podman, DNS…), and loading all of them would
// add ~100 ms to every invocation, deploys included. `kiln --help` loads them all.
import type { CommandDef } from '../command.js';

type Loader = () => Promise<CommandDef>;

const entries: Array<[string, Loader]> = [
  ['init', async () => (await import('./init.js')).initCommand],
  ['app tag', async () => (await import('./app.js')).appTagCommand],
  ['app list', async () => (await import('./app.js')).appListCommand],
  ['release create', async () => (await import('./release.js')).releaseCreateCommand],
  ['release list', async () => (await import('./release.js')).releaseListCommand],
  ['release show', async () => (await import('./release.js')).releaseShowCommand],
  ['release diff', async () => (await import('./release.js')).releaseDiffCommand],
  ['os build', async () => (await import('./os.js')).osBuildCommand],
  ['os list', async () => (await import('./os.js')).osListCommand],
  ['os diff', async () => (await import('./os.js')).osDiffCommand],
  ['image build', async () => (await import('./image.js')).imageBuildCommand],
  ['image inspect', async () => (await import('./image.js')).imageInspectCommand],
  ['verify', async () => (await import('./verify.js')).verifyCommand],
  ['data status', async () => (await import('./data.js')).dataStatusCommand],
  ['data migrate', async () => (await import('./data.js')).dataMigrateCommand],
  ['data snapshot', async () => (await import('./data.js')).dataSnapshotCommand],
  ['data replica', async () => (await import('./data.js')).dataReplicaCommand],
  ['data lint', async () => (await import('./data.js')).dataLintCommand],
  ['data prune', async () => (await import('./data.js')).dataPruneCommand],
  ['secret set', async () => (await import('./secret.js')).secretSetCommand],
  ['secret list', async () => (await import('./secret.js')).secretListCommand],
  ['secret remove', async () => (await import('./secret.js')).secretRemoveCommand],
  ['server', async () => (await import('./server.js')).serverCommand],
  ['deploy', async () => (await import('./deploy.js')).deployCommand],
  ['status', async () => (await import('./status.js')).statusCommand],
  ['logs', async () => (await import('./logs.js')).logsCommand],
  ['flags', async () => (await import('./flags.js')).flagsCommand],
  ['render kubernetes', async () => (await import('./render.js')).renderKubernetesCommand],
  ['rollback', async () => (await import('./rollback.js')).rollbackCommand],
  ['pause', async () => (await import('./traffic.js')).pauseCommand],
  ['resume', async () => (await import('./traffic.js')).resumeCommand],
  ['maintenance on', async () => (await import('./traffic.js')).maintenanceOnCommand],
  ['maintenance off', async () => (await import('./traffic.js')).maintenanceOffCommand],
  ['rollout status', async () => (await import('./rollout.js')).rolloutStatusCommand],
  ['rollout promote', async () => (await import('./rollout.js')).rolloutPromoteCommand],
  ['rollout pause', async () => (await import('./rollout.js')).rolloutPauseCommand],
  ['rollout resume', async () => (await import('./rollout.js')).rolloutResumeCommand],
  ['rollout abort', async () => (await import('./rollout.js')).rolloutAbortCommand],
  ['env create', async () => (await import('./env.js')).envCreateCommand],
  ['env list', async () => (await import('./env.js')).envListCommand],
  ['env destroy', async () => (await import('./env.js')).envDestroyCommand],
  ['promote', async () => (await import('./promote.js')).promoteCommand],
  ['rebuild', async () => (await import('./rebuild.js')).rebuildCommand],
  ['down', async () => (await import('./down.js')).downCommand],
  ['proxy', async () => (await import('./proxy.js')).proxyCommand],
  ['schema', async () => (await import('./schema.js')).schemaCommand],
  ['completion', async () => (await import('./completion.js')).completionCommand],
  ['man', async () => (await import('./man.js')).manCommand],
];

export const COMMAND_NAMES: readonly string[] = entries.map(([name]) => name);

/** Short names people bring from git, kubectl and podman (`ls`, `rm`): an alias is the verb itself. */
export const ALIASES: Readonly<Record<string, string>> = {
  'app ls': 'app list',
  'release ls': 'release list',
  'os ls': 'os list',
  'env ls': 'env list',
  'env rm': 'env destroy',
  'secret ls': 'secret list',
  'secret rm': 'secret remove',
};

/** The aliases of one verb, for its help, the man page and completion. */
export function aliasesOf(name: string): string[] {
  return Object.entries(ALIASES).filter(([, n]) => n === name).map(([a]) => a);
}

export async function loadCommand(name: string): Promise<CommandDef> {
  const entry = entries.find(([n]) => n === name);
  if (!entry) throw new Error(`no command ${name}`);
  const cmd = await entry[1]();
  if (cmd.name !== name) throw new Error(`command table says "${name}", the module says "${cmd.name}"`);
  return cmd;
}

export function loadAllCommands(): Promise<CommandDef[]> {
  return Promise.all(COMMAND_NAMES.map(loadCommand));
}
