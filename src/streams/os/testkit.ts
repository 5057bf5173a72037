// Test helpers for the OS stream and the image writer: a throwaway project whose OS base is an
// `import` of a tiny busybox root filesystem assembled here (from the busybox-static package's
// /bin/busybox), so image tests run in seconds and podman can run the result.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packDirectory } from '../../image/tar.js';
import { initKilnDir, openStore, type Store } from '../../store/init.js';
import { loadSpec } from '../../spec/load.js';
import type { ProjectSpec } from '../../spec/types.js';

export const BUSYBOX = '/bin/busybox';

export const DPKG_STATUS_SAMPLE = (pkgs: Record<string, string>): string =>
  Object.entries(pkgs)
    .map(([p, v]) => `Package: ${p}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${v}\n`)
    .join('\n');

/** A busybox rootfs tree: bin/busybox + applet links, etc/passwd, and an optional dpkg status. */
export function makeRootfsTree(dir: string, dpkg?: Record<string, string>): void {
  for (const d of ['bin', 'etc', 'tmp', 'var/lib/dpkg', 'var/log', 'dev']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.copyFileSync(BUSYBOX, path.join(dir, 'bin/busybox'));
  fs.chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'echo', 'cat', 'ls', 'sleep', 'env']) fs.symlinkSync('busybox', path.join(dir, 'bin', a));
  fs.writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  fs.chmodSync(path.join(dir, 'tmp'), 0o1777);
  if (dpkg) fs.writeFileSync(path.join(dir, 'var/lib/dpkg/status'), DPKG_STATUS_SAMPLE(dpkg));
}

/** The busybox rootfs as a tar at `out` (packed by Kiln's own writer in rootfs mode). */
export async function makeRootfsTar(out: string, dpkg?: Record<string, string>): Promise<void> {
  const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-rootfs-tree-'));
  try {
    makeRootfsTree(tree, dpkg);
    await packDirectory(tree, { rootfs: true, outFile: out });
  } finally {
    fs.rmSync(tree, { recursive: true, force: true });
  }
}

export interface ImageProject {
  dir: string;
  spec: ProjectSpec;
  store: Store;
  /** Re-read kiln.yaml (after editing it). */
  reload(): ProjectSpec;
  cleanup(): void;
}

/**
 * A project with OS base `bb` (import of base.tar) and service `hello` (a shell app printing
 * its arguments), initialised. `osYaml` replaces the os section when given.
 */
export async function makeImageProject(opts: { osYaml?: string; dpkg?: Record<string, string> } = {}): Promise<ImageProject> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-image-'));
  try {
    await makeRootfsTar(path.join(dir, 'base.tar'), opts.dpkg ?? { busybox: '1:1.35.0-4+b3', 'base-files': '12.4' });
    fs.mkdirSync(path.join(dir, 'apps/hello'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'apps/hello/hello.sh'), 'echo "hello from $(pwd): $*"\n');
    const yaml = [
      'project: imgtest',
      'os:',
      opts.osYaml ?? '  bb: { import: base.tar }',
      'services:',
      '  hello:',
      '    os: bb',
      '    app: { path: apps/hello, run: [sh, hello.sh] }',
      '    roles: { main: { replicas: 1 } }',
      'environments:',
      '  dev: { runtime: process }',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(dir, 'kiln.yaml'), yaml);
    const reload = (): ProjectSpec => loadSpec(path.join(dir, 'kiln.yaml'));
    const spec = reload();
    initKilnDir(dir);
    const store = openStore(dir);
    return {
      dir,
      spec,
      store,
      reload,
      cleanup() {
        store.db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** A containers.conf for this machine's podman (runc; ulimits under the hard limit). */
export function writeContainersConf(dir: string): string {
  const file = path.join(dir, 'containers.conf');
  fs.writeFileSync(file, '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=8192:8192"]\n\n[engine]\nruntime = "runc"\n');
  return file;
}
