// What a runtime is given to start one server of a group: computed in one place, so the command a
// plan shows (`deploy --dry-run`) is the command the start runs.
import { templateArgs } from '../deploy/flags.js';
import type { ServerLaunch } from '../runtime/types.js';
import type { GroupTemplate } from '../store/runtime-state.js';
import type { RunPaths } from './paths.js';

export function serverLaunch(t: GroupTemplate, group: string, name: string, paths: RunPaths, port: number | 'planned' | undefined): ServerLaunch {
  const logs = paths.serverLogs(t.env, t.cluster, name);
  return {
    project: t.project,
    env: t.env,
    cluster: t.cluster,
    group,
    name,
    appDir: t.appDir,
    run: t.run,
    args: templateArgs(t),
    workDir: paths.serverDir(name),
    logFile: logs.log,
    stdoutFile: logs.stdout,
    stderrFile: logs.stderr,
    ...(port === 'planned' ? { planned: true } : port !== undefined ? { port } : {}),
    ...(t.image ? { image: t.image } : {}),
  };
}
