// Where the run side keeps its files under .kiln/ (ARCHITECTURE.md, "State").
import path from 'node:path';

export interface RunPaths {
  kilnDir: string;
  runDir: string;
  apiSocket: string;
  token: string;
  serverPid: string;
  proxyPid: string;
  proxyAdmin: string;
  proxyRoutes: string;
  proxyLog: string;
  /** .kiln/logs: below it the tailer follows no link (src/logs/safe-open.ts). */
  logsDir: string;
  serverDir(name: string): string;
  serverLogs(env: string, cluster: string, server: string): { log: string; stdout: string; stderr: string };
}

export function runPaths(kilnDir: string): RunPaths {
  const runDir = path.join(kilnDir, 'run');
  return {
    kilnDir,
    runDir,
    apiSocket: path.join(runDir, 'kiln.sock'),
    token: path.join(runDir, 'token'),
    serverPid: path.join(runDir, 'server.json'),
    proxyPid: path.join(runDir, 'proxy.json'),
    proxyAdmin: path.join(runDir, 'proxy.sock'),
    proxyRoutes: path.join(runDir, 'proxy-routes.json'),
    proxyLog: path.join(kilnDir, 'logs', 'proxy.log'),
    logsDir: path.join(kilnDir, 'logs'),
    // Not in run/ (Kiln's alone): a server running as its own user passes through to its own
    // working directory (docs/isolation.md).
    serverDir: (name) => path.join(kilnDir, 'servers', name),
    // The --log-file is alone in a directory of the server's own: that directory is all a
    // container gets mounted (and all a server owns), so it cannot reach a sibling's log or its
    // own stdout/stderr files, which Kiln writes next to it (docs/logs.md).
    serverLogs: (env, cluster, server) => {
      const dir = path.join(kilnDir, 'logs', env, cluster);
      return {
        log: path.join(dir, server, `${server}.log`),
        stdout: path.join(dir, `${server}.stdout`),
        stderr: path.join(dir, `${server}.stderr`),
      };
    },
  };
}
