// Real podman for tests: the containers.conf this machine needs (MACHINE-NOTES.md: runc instead
// of crun, ulimits under the host's hard limit), a check that podman really runs a container
// (a missing or broken podman FAILS the test with what to install — nothing is skipped), a tiny
// OCI image built from busybox-static, and clean-up of everything a test project made.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { podmanEnv, type PodmanSettings } from '../../src/runtime/podman/commands.js';
import type { ImageRef } from '../../src/runtime/podman/handle.js';

export interface PodmanTestEnv {
  dir: string;
  settings: PodmanSettings;
  env: NodeJS.ProcessEnv;
  /** Removes the temp dir (containers and images: see removeProject). */
  cleanup(): void;
}

export const CONTAINERS_CONF = `# Written by Kiln's tests for this machine (see MACHINE-NOTES.md).
[engine]
runtime = "runc"

[containers]
default_ulimits = ["nofile=20000:20000", "nproc=8192:8192"]
`;

/** Writes containers.conf to a temp dir and returns the settings and environment to use. */
export function podmanTestEnv(): PodmanTestEnv {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-podman-'));
  const conf = path.join(dir, 'containers.conf');
  writeFileSync(conf, CONTAINERS_CONF);
  const settings: PodmanSettings = { containersConf: conf, stopTimeoutS: 2 };
  return { dir, settings, env: podmanEnv(settings), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): { status: number | null; out: string; err: string; missing: boolean } {
  const r = spawnSync(file, args, { env, encoding: 'utf8' });
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { status: r.status, out: r.stdout ?? '', err: r.stderr ?? '', missing };
}

/** Throws with what to do unless podman (with this containers.conf) and skopeo work. */
export function requirePodman(t: PodmanTestEnv): void {
  for (const tool of ['podman', 'skopeo']) {
    if (run(tool, ['--version'], t.env).missing) {
      throw new Error(`${tool} is not installed; the podman runtime tests need it: apt-get install -y podman runc uidmap skopeo`);
    }
  }
  const info = run('podman', ['info', '--format', '{{.Host.OCIRuntime.Name}}'], t.env);
  if (info.status !== 0) {
    throw new Error(`podman does not work with ${t.settings.containersConf}: ${info.err.trim().split('\n').at(-1) ?? ''}`);
  }
}

/** Throws unless busybox-static (a self-contained /bin/busybox to build test images from) is installed. */
export function requireBusybox(): string {
  const r = spawnSync('dpkg-query', ['-W', '-f', '${Status}', 'busybox-static'], { encoding: 'utf8' });
  if (r.status !== 0 || !r.stdout.includes('install ok installed')) {
    throw new Error('busybox-static is not installed; the podman tests build their image from it: apt-get install -y busybox-static');
  }
  return '/bin/busybox';
}

/**
 * The test server: reads --port and --log-file like any Kiln app, writes to its log file whether
 * the root filesystem is writable, prints a line to stdout, then serves /www (GET /healthz) with
 * busybox httpd as PID 2 (PID 1 is podman's init).
 */
const SERVER_SH = `#!/bin/sh
port=8080
log=/dev/null
for a in "$@"; do
  case "$a" in
    --port=*) port="\${a#--port=}" ;;
    --log-file=*) log="\${a#--log-file=}" ;;
  esac
done
echo "server starting on port $port" >> "$log"
if (echo probe > /probe) 2>/dev/null; then echo "root filesystem writable" >> "$log"; else echo "root filesystem read-only" >> "$log"; fi
echo "stdout: serving on $port"
exec /bin/busybox httpd -f -p "$port" -h /www
`;

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Writes an OCI image layout (one uncompressed layer) holding busybox and the test server.
 * `variant` changes one file, so two variants are two images.
 */
export function buildTestImage(layout: string, ref = 'test', variant = 'a'): ImageRef {
  const busybox = requireBusybox();
  const root = mkdtempSync(path.join(os.tmpdir(), 'kiln-rootfs-'));
  try {
    for (const d of ['bin', 'app', 'www', 'etc', 'tmp', 'run', 'var/tmp', 'var/log/kiln', 'proc', 'sys', 'dev']) mkdirSync(path.join(root, d), { recursive: true });
    copyFileSync(busybox, path.join(root, 'bin/busybox'));
    chmodSync(path.join(root, 'bin/busybox'), 0o755);
    symlinkSync('busybox', path.join(root, 'bin/sh'));
    writeFileSync(path.join(root, 'app/server.sh'), SERVER_SH, { mode: 0o755 });
    writeFileSync(path.join(root, 'www/healthz'), `ok ${variant}\n`);
    const layer = path.join(root, '..', `${path.basename(root)}.tar`);
    // Deterministic tar (sorted, fixed owner and mtime): the same inputs give the same digest.
    execFileSync('tar', ['-C', root, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', layer, '.']);
    const layerBytes = readFileSync(layer);
    rmSync(layer);
    const blobs = path.join(layout, 'blobs', 'sha256');
    mkdirSync(blobs, { recursive: true });
    const put = (data: Buffer | string): { digest: string; size: number } => {
      const hex = sha256(data);
      writeFileSync(path.join(blobs, hex), data);
      return { digest: `sha256:${hex}`, size: Buffer.byteLength(data) };
    };
    const l = put(layerBytes);
    const config = put(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Entrypoint: ['/bin/sh', '/app/server.sh'], WorkingDir: '/app' },
        rootfs: { type: 'layers', diff_ids: [l.digest] },
        history: [{ created_by: 'kiln test image' }],
      }),
    );
    const manifest = put(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l }],
      }),
    );
    const indexFile = path.join(layout, 'index.json');
    let manifests: Array<{ annotations?: Record<string, string> }> = [];
    try {
      manifests = (JSON.parse(readFileSync(indexFile, 'utf8')) as { manifests: typeof manifests }).manifests;
    } catch {
      // a new layout
    }
    manifests = manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] !== ref);
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': ref } } as (typeof manifests)[number]);
    writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    writeFileSync(indexFile, JSON.stringify({ schemaVersion: 2, manifests }));
    return { layout, ref, digest: manifest.digest as ImageRef['digest'] };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Removes every container labelled with the project and every image named for it. */
export function removeProject(t: PodmanTestEnv, project: string): void {
  const ids = run('podman', ['ps', '--all', '--quiet', '--no-trunc', '--filter', `label=io.kiln.project=${project}`], t.env).out.split('\n').filter(Boolean);
  if (ids.length) run('podman', ['rm', '--force', '--ignore', '--time', '0', ...ids], t.env);
  const names = run('podman', ['images', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=localhost/kiln/${project}`], t.env)
    .out.split('\n')
    .filter((n) => n.startsWith(`localhost/kiln/${project}:`));
  if (names.length) run('podman', ['rmi', '--force', ...names], t.env);
}

/** A project name no other test (or engineer) on this host uses at the same time. */
export function uniqueProject(prefix = 'kt'): string {
  return `${prefix}${process.pid}${Math.floor(Math.random() * 1e6)}`;
}
