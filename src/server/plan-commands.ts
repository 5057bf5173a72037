// `deploy --dry-run` shows what will run, on every runtime: each new group's first server's exact
// command, made by the same functions a start uses (launch.ts, the runtime's command()).
import { groupTemplate } from '../deploy/execute.js';
import type { DeployPlan } from '../deploy/plan.js';
import { serverName, type ServerGroupName } from '../names/names.js';
import type { Runtime } from '../runtime/types.js';
import { serverLaunch } from './launch.js';
import type { RunPaths } from './paths.js';

/**
 * `appDir` gives the directory of an app's files, as a deploy would: the process runtime resolves
 * the run command's files in it, so it must be the extracted app (an immutable cache, not state).
 */
export async function withCommands(plan: DeployPlan, runtime: Runtime, paths: RunPaths, appDir: (digest: string) => Promise<string>): Promise<DeployPlan> {
  return {
    ...plan,
    clusters: await Promise.all(plan.clusters.map(async (c) => {
      if (c.action === 'unchanged') return c;
      const t = groupTemplate(plan, c, await appDir(c.app.digest));
      const launch = serverLaunch(t, c.group, serverName(c.group as ServerGroupName, 1), paths, c.portName ? 'planned' : undefined);
      const { file, args } = runtime.command(launch);
      return { ...c, command: [file, ...args] };
    })),
  };
}
