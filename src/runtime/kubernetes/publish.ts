// Image publishing, apart from building (STYLE.md: ko's build vs publish): a release's image is
// copied from Kiln's OCI layout to the environment's registry byte for byte, so the registry
// holds the very manifest digest the release names, and pods pull it by that digest.
import { spawn } from 'node:child_process';
import { KilnError } from '../../errors.js';
import type { ImageRef } from '../types.js';

export interface Command {
  file: string;
  args: string[];
}

/** `skopeo copy` of one image to `<registry>/kiln/<project>:<hex>`, digests preserved (no recompression). */
export function pushCommand(image: ImageRef, project: string, registry: string, certDir?: string): Command {
  const hex = image.digest.slice('sha256:'.length);
  return {
    file: 'skopeo',
    args: [
      'copy', '--quiet', '--preserve-digests',
      ...(certDir ? ['--dest-cert-dir', certDir] : []),
      `oci:${image.layout}:${image.ref}`,
      `docker://${registry.replace(/\/+$/, '')}/kiln/${project}:${hex}`,
    ],
  };
}

export function runCommand(c: Command): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(c.file, c.args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new KilnError('RUNTIME_FAILED', `cannot run ${c.file}: ${e.message}`, { hint: 'install skopeo (apt-get install skopeo)' })));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new KilnError('RUNTIME_FAILED', `${c.file} ${c.args.slice(0, 2).join(' ')} failed (${code}): ${err.trim().slice(0, 1000)}`)),
    );
  });
}
