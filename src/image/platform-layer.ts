// Kiln's platform layer: what every server's image gets from Kiln and the app never configures.
//
//   /var/log/kiln/          the log directory: the runtime mounts a writable host directory here
//                           (the root filesystem is read-only) and passes --log-file inside it
//   /etc/kiln/platform.json the entrypoint contract, readable by the app and by operators
//
// The entrypoint contract:
//   - Entrypoint is the service's `run` command, WorkingDir /app (the app layer); Cmd is empty
//     and the runtime appends the server's flags (--port, --log-file, …) as arguments.
//   - StopSignal SIGTERM; the runtime waits, then SIGKILLs.
//   - PID 1 is an init supplied by the runtime (`podman run --init`: catatonit), not one baked
//     into the image. Why: the app (often node) as PID 1 gets no default signal handling and
//     never reaps zombies; an init fixes both. A shell script can't forward signals to a child
//     and wait for it correctly, a Node init needs node in every base, and tini isn't packaged
//     here; catatonit ships with podman, and Kubernetes has shareProcessNamespace/pause. The
//     image says so in the label dev.kiln.init=runtime so a runtime knows to add one.
//
// The layer is built in memory from constants: the same Kiln version gives the same digest.
import type { Digest } from '../release/types.js';
import type { OciLayout } from '../store/oci-layout.js';
import { canonicalJson } from '../util/canonical-json.js';
import { BLOCK, encodeHeader, padding } from './tar-header.js';

export const LOG_DIR = '/var/log/kiln';
export const APP_DIR = '/app';
export const STOP_SIGNAL = 'SIGTERM';
/** Bump when the platform layer's content changes on purpose. */
export const PLATFORM_VERSION = '1';

export const PLATFORM_CONTRACT = {
  schema: 'kiln.platform.v1',
  version: PLATFORM_VERSION,
  appDir: APP_DIR,
  logDir: LOG_DIR,
  flags: 'appended to the entrypoint as arguments by the runtime',
  init: 'runtime (podman --init)',
  stopSignal: STOP_SIGNAL,
} as const;

/** The platform layer's tar bytes (deterministic: fixed entries, mtime 0, uid/gid 0). */
export function platformLayerTar(): Buffer {
  const json = Buffer.from(canonicalJson(PLATFORM_CONTRACT) + '\n');
  const parts: Buffer[] = [];
  const entry = (name: string, type: 'dir' | 'file', mode: number, body?: Buffer): void => {
    parts.push(encodeHeader({ name, type, mode, size: body?.length ?? 0, mtime: 0, linkname: '' }));
    if (body) parts.push(body, Buffer.alloc(padding(body.length)));
  };
  // Parents (etc/, var/, var/log/) are left to the OS layer so its modes and owners win.
  entry('etc/kiln/', 'dir', 0o755);
  entry('etc/kiln/platform.json', 'file', 0o644, json);
  entry('var/log/kiln/', 'dir', 0o755);
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** Store the platform layer in the layout (a no-op when present); returns its diff_id. */
export function putPlatformLayer(oci: OciLayout): { digest: Digest; size: number } {
  return oci.putBlob(platformLayerTar());
}
