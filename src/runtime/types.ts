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
  /**
   * A launch for a plan (`deploy --dry-run`), not for a start: the port is picked only when the
   * server starts, so `command()` shows it as `${port}`.
   */
  planned?: boolean;
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

/**
 * How to find a started server again, also after a control-plane restart. Every runtime has a
 * ref; a pid only where the server is a process of this host (process, podman: its init), which
 * makes liveness a read of /proc instead of a call to the runtime.
 */
export interface ServerHandle {
  /** The runtime's own id of the server: podman's container id, the process runtime's server directory (its tree's marker). */
  ref: string;
  pid?: number;
  /** Kernel start time of that process (clock ticks since boot): tells a reused pid apart. */
  startTime?: string;
}

/** A server a runtime found by its own labels (podman: a container), for adoption and clean-up. */
export interface ListedServer {
  /** The runtime's id of it (podman: the container id), as stored in the server's row. */
  ref: string;
  name: string;
  env: string;
  server: string;
  running: boolean;
  /** The handle to stop it with; null once it is not running. */
  handle: ServerHandle | null;
}

/**
 * What only some runtimes can do. The control plane asks a runtime whether it has one instead of
 * casting it to a runtime class: one without it has nothing of that kind to list or remove.
 */
export interface RuntimeCapabilities {
  /** The project's servers this runtime knows of, read now (not from a cache). */
  listServers?(project: string, opts: { fresh: boolean }): Promise<ListedServer[]>;
  /** Removes what the project's stopped servers leave behind (podman: exited containers). */
  removeStopped?(project: string): Promise<string[]>;
  /** Removes the project's images that no server runs and `keep` (manifest digests) does not name. */
  removeUnusedImages?(project: string, keep: readonly string[]): Promise<string[]>;
}

export interface Runtime extends RuntimeCapabilities {
  readonly name: RuntimeName;
  /** The command that would start the server, as data (for plans, --dry-run and tests). */
  command(launch: ServerLaunch): { file: string; args: string[]; cwd: string };
  start(launch: ServerLaunch): Promise<ServerHandle>;
  /**
   * Liveness, polled by the reconciler; also true for servers adopted after a restart. Asynchronous,
   * so a runtime that must ask something remote can; local ones answer from /proc.
   */
  isAlive(handle: ServerHandle): Promise<boolean>;
  /** SIGTERM, then SIGKILL after graceMs; resolves once the server is gone. */
  stop(handle: ServerHandle, graceMs: number): Promise<void>;
}
