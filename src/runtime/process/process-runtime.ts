// The embedded default runtime: each server is a plain child process started from the release's
// read-only app files, in its own working directory, configured only by flags.
// Servers are started in their own session (detached) so that killing the control plane — even
// with kill -9 — leaves them serving; a restarted control plane re-adopts them by (pid, start time).
// Each runs as the user `prepare` gives (an unprivileged uid per environment when Kiln is root,
// docs/isolation.md), with no supplementary groups.
// Stopping a server ends its whole tree: its process group and every process started with its
// KILN_SERVER_DIR marker, setsid descendants included (tree.ts says why a marker).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, closeSync } from 'node:fs';
import path from 'node:path';
import { KilnError } from '../../errors.js';
import type { PrepareServer, Runtime, ServerHandle, ServerLaunch } from '../types.js';
import { argv, hostResolver } from '../args.js';
import { isProcessAlive, processStartTime } from './proc.js';
import { openOutputFile } from './output-file.js';
import { SERVER_MARK, serverDirOf, treeOf, type TreeProcess } from './tree.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether the server's first process still runs (its pid not reused: same start time). */
function leaderAlive(h: ServerHandle): boolean {
  return h.pid !== undefined && h.startTime !== undefined && isProcessAlive(h.pid, h.startTime);
}

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
      if (a === '' || a.startsWith('-') || path.isAbsolute(a)) return a;
      const inApp = path.join(launch.appDir, a);
      return existsSync(inApp) ? inApp : a;
    };
    const file = program.includes('/') ? resolve(program) : program === 'node' ? process.execPath : program;
    // On the host, a server's files are where Kiln keeps them: the flags name the host paths. A
    // positional argument naming a file of the app is that file too, as in a container (cwd /app).
    const flags = argv(launch.args, hostResolver(launch), resolve);
    return { file, args: [...rest.map(resolve), ...flags], cwd: launch.workDir };
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
        // A minimal, explicit environment: configuration reaches the app as flags only. The
        // marker is not configuration: it names the server's tree for stop() and the orphan sweep.
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', TZ: 'UTC', [SERVER_MARK]: path.resolve(cwd) },
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
      // ref: the marker of its tree, so a dead server's leftovers can still be found and ended.
      return { pid, startTime, ref: path.resolve(cwd) };
    } finally {
      closeSync(out);
      if (err !== undefined) closeSync(err);
    }
  }

  isAlive(h: ServerHandle): Promise<boolean> {
    return Promise.resolve(leaderAlive(h));
  }

  /**
   * Ends the server's whole tree: SIGTERM (and SIGCONT, so a stopped process can handle it) to its
   * process group and to every process carrying its marker, up to `graceMs` for all of them to
   * exit, then SIGKILL to whatever is left, again until nothing is.
   */
  async stop(h: ServerHandle, graceMs: number): Promise<void> {
    const alive = leaderAlive(h);
    const serverDir = h.ref || (alive && h.pid !== undefined ? serverDirOf(h.pid) : null);
    // The group id is the leader's pid: it cannot be handed to another process while the leader
    // or any member lives, so it is only trusted if the leader was alive when the stop began.
    const pgrp = alive ? (h.pid ?? null) : null;
    const tree = (): TreeProcess[] => treeOf({ serverDir, pgrp });
    const signal = (sig: NodeJS.Signals, procs: TreeProcess[]): void => {
      if (pgrp !== null) {
        try {
          process.kill(-pgrp, sig);
        } catch {
          /* the group is empty */
        }
      }
      for (const p of procs) {
        if (!isProcessAlive(p.pid, p.startTime)) continue; // its pid may be another process's by now
        try {
          process.kill(p.pid, sig);
        } catch {
          /* already gone */
        }
      }
    };
    let procs = tree();
    if (!procs.length) return;
    signal('SIGTERM', procs);
    signal('SIGCONT', procs);
    const deadline = Date.now() + graceMs;
    let wait = 10;
    while (Date.now() < deadline) {
      await sleep(Math.min(wait, Math.max(1, deadline - Date.now())));
      wait = Math.min(100, wait * 2);
      procs = tree();
      if (!procs.length) return;
    }
    // Bounded: a process this user may not signal (EPERM) must not hang a teardown forever.
    for (let i = 0; i < 250; i++) {
      procs = tree();
      if (!procs.length) return;
      signal('SIGKILL', procs);
      await sleep(20);
    }
  }
}

/** A program the server's user may not run: say which, and what to do. */
function unreachable(launch: ServerLaunch, file: string, uid: number): KilnError {
  return new KilnError('RUNTIME_FAILED', `server ${launch.name} runs as uid ${uid}, which cannot run ${file} (EACCES)`, {
    hint: 'the program and every directory above it must be readable and passable by other users (docs/isolation.md)',
  });
}
