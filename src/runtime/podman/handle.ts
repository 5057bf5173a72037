// PROPOSAL for src/runtime/types.ts (the lead applies it; this file is where it is written down
// and what the podman runtime compiles against until then).
//
// A container server is found again by its container id, and is alive while its init process
// (the container's PID 1, seen from the host) is alive. So a container handle is the process
// handle plus the runtime's own reference:
//
//   export interface ServerHandle {
//     pid: number;        // host pid of the server's first process (a container's init)
//     startTime: string;  // kernel start time of that pid: tells a reused pid apart
//     ref?: string;       // NEW: the runtime's id of the server (podman: the container id)
//   }
//
// Keeping pid + startTime for containers gives a liveness check that costs one /proc read and no
// podman call (the reconciler polls every 250 ms), while `ref` is what stop/remove need. The
// servers table keeps its pid / start_time columns and gains `runtime_ref TEXT` (NULL for process
// servers) in a new migration; see the report for the exact SQL.
import type { ServerLaunch } from '../types.js';

/** A podman server's handle: ServerHandle with the container id always present. */
export interface ContainerHandle {
  /** Host pid of the container's init (podman inspect .State.Pid). */
  pid: number;
  /** /proc start time of that pid. */
  startTime: string;
  /** Full container id (64 hex). */
  ref: string;
}

/** Labels put on every container Kiln starts; adoption finds servers by them, never by name. */
export const LABEL = {
  project: 'io.kiln.project',
  env: 'io.kiln.env',
  cluster: 'io.kiln.cluster',
  group: 'io.kiln.group',
  server: 'io.kiln.server',
  /** Absolute path of the .kiln directory: two checkouts of one project on a host stay apart. */
  store: 'io.kiln.store',
} as const;

/**
 * The image a container server runs: an image in Kiln's OCI layout (`oci:<layout>:<ref>`),
 * pinned by its manifest digest. PROPOSAL: ServerLaunch gains `image?: ImageRef`, set by the
 * deploy plan for environments whose runtime is podman (the release manifest has the digest,
 * the store knows the layout directory; `ref` is the layout's org.opencontainers.image.ref.name).
 */
export type { ImageRef } from '../types.js';
import type { ImageRef } from '../types.js';

/** What the podman runtime needs beyond a process launch. */
export interface ContainerLaunch extends ServerLaunch {
  image: ImageRef;
}

/** A container of a project as podman reports it: what adoption and clean-up work from. */
export interface ContainerInfo {
  ref: string;
  name: string;
  project: string;
  env: string;
  cluster: string;
  group: string;
  server: string;
  /** podman's state: created, running, paused, exited, stopping, … */
  state: string;
  running: boolean;
  /** Host pid and its start time while running; the handle to store for an adopted server. */
  handle: ContainerHandle | null;
  exitCode: number | null;
  /** Image id (config digest hex) the container runs. */
  imageId: string;
  /** 127.0.0.1 host ports published. */
  hostPorts: number[];
}

/**
 * PROPOSAL for the Runtime interface: unchanged except the handle type (ServerHandle gains
 * `ref?`). PodmanRuntime implements exactly this shape.
 */
export interface ContainerRuntime {
  readonly name: 'podman';
  command(launch: ContainerLaunch): { file: string; args: string[]; cwd: string };
  start(launch: ContainerLaunch): Promise<ContainerHandle>;
  isAlive(handle: ContainerHandle): Promise<boolean>;
  stop(handle: ContainerHandle, graceMs: number): Promise<void>;
}
