// The one place the OS stream runs external commands (built as data elsewhere).
import { spawn } from 'node:child_process';
import type { Command } from './mmdebstrap.js';
import { SYSTEM_UMASK, withUmask } from '../../util/umask.js';
import { KilnError } from '../../errors.js';

export interface ExecResult {
  code: number | null;
  stderr: string;
}

/** Run to completion; stderr is kept (last 256 KiB) and streamed line by line to onLine. */
export function runCommand(cmd: Command, onLine?: (line: string) => void): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = cmd.argv as [string, ...string[]];
    // A root filesystem's modes must not follow Kiln's umask 077 (util/umask.ts).
    const child = withUmask(SYSTEM_UMASK, () => spawn(file, args, { env: { ...process.env, ...cmd.env }, stdio: ['ignore', 'pipe', 'pipe'] }));
    let err = '';
    let partial = '';
    const onData = (d: Buffer): void => {
      const s = d.toString('utf8');
      err = (err + s).slice(-262144);
      if (!onLine) return;
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) onLine(l);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e: NodeJS.ErrnoException) => {
      // A program never installed here: say which and how to get it, not a stack trace.
      if (e.code === 'ENOENT') {
        reject(new KilnError('BUILD_FAILED', `${file} is not installed on this machine (kiln os build runs it to make the OS base)`, {
          hint: `install it: apt-get install -y ${file}`,
        }));
      } else reject(e);
    });
    child.on('close', (code) => resolve({ code, stderr: err }));
  });
}
