// The one place podman and skopeo commands run. Commands come in as argument arrays (commands.ts)
// and run without a shell; a missing program or a failure becomes a KilnError naming the command.
import { execFile } from 'node:child_process';
import { KilnError } from '../../errors.js';
import type { Command } from './commands.js';
import { SYSTEM_UMASK, withUmask } from '../../util/umask.js';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; resolves with its exit status (never rejects for a non-zero exit). */
export type Executor = (cmd: Command) => Promise<ExecResult>;

export function makeExecutor(env: NodeJS.ProcessEnv): Executor {
  return (cmd) =>
    new Promise((resolve, reject) => {
      // Layers podman and skopeo unpack must not get Kiln's umask 077 (util/umask.ts).
      withUmask(SYSTEM_UMASK, () => execFile(cmd.file, cmd.args, { env, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(
            new KilnError('RUNTIME_FAILED', `${cmd.file} is not installed (needed by the podman runtime)`, {
              hint: 'install it: apt-get install -y podman runc skopeo uidmap',
            }),
          );
          return;
        }
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      }));
    });
}

/** Runs a command that must succeed; returns its stdout. */
export async function mustRun(exec: Executor, cmd: Command, what: string): Promise<string> {
  const r = await exec(cmd);
  if (r.code !== 0) {
    const lines = r.stderr.trim().split('\n').filter(Boolean);
    throw new KilnError('RUNTIME_FAILED', `${what}: ${cmd.file} ${cmd.args[0] === '--runtime' ? cmd.args[2] : cmd.args[0]} exited with ${r.code}: ${lines.at(-1) ?? 'no message'}`, {
      hint: 'the podman runtime settings of the environment (OCI runtime, ulimits, containers.conf) may not fit this host',
      details: [`${cmd.file} ${cmd.args.join(' ')}`, ...lines.slice(-10)],
    });
  }
  return r.stdout;
}
