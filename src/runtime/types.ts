// One interface for every place servers run (ARCHITECTURE.md, "Runtimes behind one interface").
// The deploy and the reconciler only ever talk to a Runtime; process, podman and kubernetes
// differ behind it.
import type { RuntimeName } from '../spec/types.js';
import type { ServerArgs } from './args.js';

/** Everything needed to start one server, computed by the deploy plan. */
export interface ServerLaunch {
  project: string;
  env: string;
  cluster: string;
  group: string;
  name: string;
  /** Read-only directory holding the app's files (the extracted app layer). */
  appDir: string;
  /** The release's run command; arguments naming files of the app are resolved in appDir. */
  run: string[];
  /**
   * Flags and positional arguments, typed (args.ts): the runtime maps the port, the log file and
   * the files they name (process: host paths; podman: bind mounts) and writes them in their style.
   */
  args: ServerArgs;
  /** The server's own writable working directory. */
  workDir: string;
  logFile: string;
  stdoutFile: string;
  stderrFile: string;
  port?: number;
  /** The image to run, for runtimes that run images (podman); the process runtime uses appDir. */
  image?: ImageRef;
}

/**
 * An image in Kiln's OCI layout, pinned by its manifest digest: what container runtimes start.
 * `ref` is the layout's org.opencontainers.image.ref.name.
 */
export interface ImageRef {
  layout: string;
  ref: string;
  digest: `sha256:${string}`;
}

/**
 * Readies a server's files for the user it runs as and returns that user (src/isolation/):
 * null runs it as Kiln's own user. Runtimes call it right before starting the server.
 */
export type PrepareServer = (launch: ServerLaunch) => { uid: number; gid: number } | null;

/** How to find a started server again, also after a control-plane restart. */
export interface ServerHandle {
  pid: number;
  /** Kernel start time of the process (clock ticks since boot): tells a reused pid apart. */
  startTime: string;
  /** The runtime's own id of the server (podman: the container id); absent for processes. */
  ref?: string;
}

export interface Runtime {
  readonly name: RuntimeName;
  /** The command that would start the server, as data (for plans, --dry-run and tests). */
  command(launch: ServerLaunch): { file: string; args: string[]; cwd: string };
  start(launch: ServerLaunch): Promise<ServerHandle>;
  /** Cheap liveness check, polled by the reconciler; also true for servers adopted after a restart. */
  isAlive(handle: ServerHandle): boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves once the server is gone. */
  stop(handle: ServerHandle, graceMs: number): Promise<void>;
}
