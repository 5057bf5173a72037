// The one place the data layer runs external tools (pg_dump, pg_restore). Commands arrive as
// data (argv + env, see postgres.ts); the child inherits nothing secret, and its stderr is kept
// for the error message.
import { spawn } from 'node:child_process';
import { KilnError } from '../../errors.js';
import type { ToolCommand } from './postgres.js';

export async function runTool(cmd: ToolCommand, what: string): Promise<void> {
  const [bin, ...args] = cmd.argv;
  if (!bin) throw new Error('empty command');
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LANG: 'C', ...cmd.env };
  await new Promise<void>((resolve, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 8000) stderr += d.toString('utf8');
    });
    child.on('error', (e) => {
      const code = (e as NodeJS.ErrnoException).code;
      reject(
        new KilnError('DATA_FAILED', `${what}: cannot run ${bin}: ${code ?? e.message}`, {
          hint: code === 'ENOENT' ? 'install the PostgreSQL client tools (Debian: postgresql-client), or set KILN_PG_BIN to their directory' : undefined,
        }),
      );
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const tail = stderr.trim().split('\n').slice(-8);
      reject(new KilnError('DATA_FAILED', `${what}: ${bin.split('/').pop()} exited with ${signal ?? code}`, { details: tail }));
    });
  });
}
