// The embedded default runtime: each server is a plain child process started from the release's
// read-only app files, in its own working directory, configured only by flags.
// Servers are started in their own session (detached) so that killing the control plane — even
// with kill -9 — leaves them serving; a restarted control plane re-adopts them by (pid, start time).
// Each runs as the user `prepare` gives (an unprivileged uid per environment when Kiln is root,
// docs/isolation.md), with no supplementary groups.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, closeSync } from 'node:fs';
import path from 'node:path';
import { KilnError } from '../../errors.js';
import type { PrepareServer, Runtime, ServerHandle, ServerLaunch } from '../types.js';
import { isProcessAlive, processStartTime } from './proc.js';
import { openOutputFile } from './output-file.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class ProcessRuntime implements Runtime {
  readonly name = 'process' as const;
  private readonly prepare: PrepareServer;

  constructor(opts: { prepare?: PrepareServer } = {}) {
    this.prepare = opts.prepare ?? (() => null);
  }

  command(launch: ServerLaunch): { file: string; args: string[]; cwd: string } {
    const [program, ...rest] = launch.run;
    if (!program) throw new Error(`empty run command for ${launch.name}`);
    // As in an image whose WORKDIR is the app: an argument that names a file of the app is that
    // file, wherever the server's own working directory is.
    const resolve = (a: string): string => {
      if (a.startsWith('-') || path.isAbsolute(a)) return a;
      const inApp = path.join(launch.appDir, a);
      return existsSync(inApp) ? inApp : a;
    };
    const file = program.includes('/') ? resolve(program) : program === 'node' ? process.execPath : program;
    return { file, args: [...rest.map(resolve), ...launch.flags], cwd: launch.workDir };
  }

  async start(launch: ServerLaunch): Promise<ServerHandle> {
    const { file, args, cwd } = this.command(launch);
    // Owns (and makes) its working and log directories, its secrets and stores.
    const who = this.prepare(launch);
    mkdirSync(cwd, { recursive: true });
    mkdirSync(path.dirname(launch.stdoutFile), { recursive: true });
    mkdirSync(path.dirname(launch.logFile), { recursive: true });
    // In a directory the server owns: never follow a link or open a FIFO it put there.
    const out = openOutputFile(launch.stdoutFile);
    let err: number | undefined;
    try {
      err = openOutputFile(launch.stderrFile);
      const child = spawn(file, args, {
        cwd,
        detached: true,
        stdio: ['ignore', out, err],
        // A minimal, explicit environment: configuration reaches the app as flags only.
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', TZ: 'UTC' },
        // libuv drops every supplementary group (setgroups(0)) before setgid/setuid.
        ...(who ? { uid: who.uid, gid: who.gid } : {}),
      });
      const pid = await new Promise<number>((resolve, reject) => {
        child.once('error', (e: NodeJS.ErrnoException) => reject(who && e.code === 'EACCES' ? unreachable(launch, file, who.uid) : e));
        child.once('spawn', () => resolve(child.pid as number));
      });
      child.unref();
      // Reap it if it exits while we are its parent; adopted servers are watched by polling.
      child.on('exit', () => undefined);
      const startTime = processStartTime(pid);
      if (startTime === null) throw new Error(`server ${launch.name} (pid ${pid}) exited immediately`);
      return { pid, startTime };
    } finally {
      closeSync(out);
      if (err !== undefined) closeSync(err);
    }
  }

  isAlive(h: ServerHandle): boolean {
    return isProcessAlive(h.pid, h.startTime);
  }

  async stop(h: ServerHandle, graceMs: number): Promise<void> {
    if (!this.isAlive(h)) return;
    // The server leads its own process group: signal the group so helpers it forked go too.
    const signal = (sig: NodeJS.Signals): void => {
      try {
        process.kill(-h.pid, sig);
      } catch {
        try {
          process.kill(h.pid, sig);
        } catch {
          /* already gone */
        }
      }
    };
    signal('SIGTERM');
    signal('SIGCONT'); // a stopped (SIGSTOP) server must run to handle the SIGTERM
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline) {
      if (!this.isAlive(h)) return;
      await sleep(20);
    }
    signal('SIGKILL');
    while (this.isAlive(h)) await sleep(20);
  }
}

/** A program the server's user may not run: say which, and what to do. */
function unreachable(launch: ServerLaunch, file: string, uid: number): KilnError {
  return new KilnError('RUNTIME_FAILED', `server ${launch.name} runs as uid ${uid}, which cannot run ${file} (EACCES)`, {
    hint: 'the program and every directory above it must be readable and passable by other users (docs/isolation.md)',
  });
}
