// Shared by bench/image-*.js: medians, timing, and a 170 MB Debian minbase rootfs tar built
// once with mmdebstrap from the machine's own apt sources (cached in the temp directory).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './lib.js';
export { median };

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(path.join(repo, 'dist', p));

export async function timed(fn) {
  const t0 = process.hrtime.bigint();
  const v = await fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, v };
}

export function sh(argv, opts = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The minbase rootfs tar, built once (SOURCE_DATE_EPOCH fixed) and kept for later runs. */
export async function minbaseTar() {
  const out = path.join(os.tmpdir(), 'kiln-bench-minbase.tar');
  if (fs.existsSync(out)) return out;
  const { resolveSources, mmdebstrapCommand, DEFAULT_OS_EPOCH } = await dist('src/streams/os/index.js');
  const spec = { kind: 'debian', suite: 'bookworm', components: ['main'], include: [] };
  const cmd = mmdebstrapCommand(spec, resolveSources(spec, 'bench'), out + '.tmp', DEFAULT_OS_EPOCH);
  process.stderr.write(`building the benchmark rootfs once: ${cmd.argv.slice(0, 8).join(' ')} …\n`);
  sh(cmd.argv, { env: { ...process.env, ...cmd.env }, stdio: ['ignore', 'ignore', 'inherit'] });
  fs.renameSync(out + '.tmp', out);
  return out;
}

export { dist };
