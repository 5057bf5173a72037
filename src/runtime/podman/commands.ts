// Podman (and skopeo) commands as data: every function returns the program and its argument
// array, never a shell string, and runs nothing. The executor (executor.ts) is the one place
// they run; tests assert on the arrays.
import path from 'node:path';
import { LABEL, type ImageRef } from './handle.js';

/**
 * Per-environment runtime settings, passed in (kiln.yaml `environments.<env>.podman`), never
 * hard-coded: a normal cgroup-v2 host needs none of them, this CI machine needs runc and lower
 * ulimits (MACHINE-NOTES.md).
 */
export interface PodmanSettings {
  /** podman binary; default "podman". */
  podman?: string;
  /** skopeo binary, used to load images from Kiln's OCI layout; default "skopeo". */
  skopeo?: string;
  /** containers.conf to use (exported as CONTAINERS_CONF to podman). */
  containersConf?: string;
  /** OCI runtime (podman --runtime), e.g. "runc" or "crun". */
  ociRuntime?: string;
  /** --ulimit values, e.g. ["nofile=20000:20000"]. */
  ulimits?: string[];
  /** --network; "host" shares the host's network (then nothing is published). */
  network?: string;
  /** Seconds podman waits after the stop signal before SIGKILL; default 5. */
  stopTimeoutS?: number;
  /** Where the server's log directory appears inside the container; default /var/log/kiln. */
  logMount?: string;
}

export interface Command {
  file: string;
  args: string[];
}

export const DEFAULT_LOG_MOUNT = '/var/log/kiln';
export const DEFAULT_STOP_TIMEOUT_S = 5;

const podman = (s: PodmanSettings, args: string[]): Command => ({
  file: s.podman ?? 'podman',
  // --runtime is a global option: it must precede the subcommand, and applies to every command
  // (inspect and rm of a runc container need runc too).
  args: [...(s.ociRuntime ? ['--runtime', s.ociRuntime] : []), ...args],
});

/** The name an image gets in podman's storage: per project, tagged by its manifest digest. */
export function imageName(project: string, image: ImageRef): string {
  return `localhost/kiln/${project}:${digestHex(image.digest)}`;
}

export function imageRepository(project: string): string {
  return `localhost/kiln/${project}`;
}

/** Container names are unique per host: project and server name, separated by dots (not in names). */
export function containerName(project: string, server: string): string {
  return `kiln.${project}.${server}`;
}

function digestHex(d: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(d);
  if (!m?.[1]) throw new Error(`not a sha256 digest: ${d}`);
  return m[1];
}

/** Exit status 0 if the image is already in podman's storage, 1 if not. */
export function imageExistsCommand(s: PodmanSettings, name: string): Command {
  return podman(s, ['image', 'exists', name]);
}

/** Copies one image of Kiln's OCI layout into podman's storage under its Kiln name. */
export function loadImageCommand(s: PodmanSettings, project: string, image: ImageRef): Command {
  return {
    file: s.skopeo ?? 'skopeo',
    args: ['copy', '--quiet', `oci:${image.layout}:${image.ref}`, `containers-storage:${imageName(project, image)}`],
  };
}

export interface RunSpec {
  project: string;
  env: string;
  cluster: string;
  group: string;
  server: string;
  /** .kiln directory, recorded as a label so adoption never takes another checkout's servers. */
  store?: string;
  image: string;
  /** The release's run command: the container's entrypoint, so the image's own is not relied on. */
  run: string[];
  /** The server's flags, already translated to paths as the container sees them. */
  flags: string[];
  /** Host directory mounted read-write at the log mount; the only writable place besides tmpfs. */
  logDir: string;
  /** Host file receiving the container's stdout and stderr (podman k8s-file log format). */
  stdoutFile: string;
  /**
   * Published on 127.0.0.1 as the same port number inside, so --port means the same on both sides.
   * A plan's command shows `${port}`: the number is picked when the server starts.
   */
  port?: number | string;
  workdir?: string;
  /** Host file podman writes the container's init pid to: saves an inspect per start. */
  pidFile?: string;
  /** Secret files (read-only) and SQLite store directories (read-write) the flags name. */
  mounts?: Mount[];
  /** uid:gid the app runs as inside (--user); absent: the image's user. */
  user?: string;
}

/** A host path bind-mounted into a server's container. */
export interface Mount {
  host: string;
  container: string;
  mode: 'ro' | 'rw';
}

/** Where secret files and SQLite store directories appear inside a container. */
export const SECRETS_MOUNT = '/run/kiln/secrets';
export const DATA_MOUNT = '/run/kiln/data';

export function labels(spec: Pick<RunSpec, 'project' | 'env' | 'cluster' | 'group' | 'server' | 'store'>): Record<string, string> {
  return {
    [LABEL.project]: spec.project,
    [LABEL.env]: spec.env,
    [LABEL.cluster]: spec.cluster,
    [LABEL.group]: spec.group,
    [LABEL.server]: spec.server,
    ...(spec.store !== undefined ? { [LABEL.store]: spec.store } : {}),
  };
}

/** `podman run --detach`: prints the container id. */
export function runCommand(s: PodmanSettings, spec: RunSpec): Command {
  const [entry, ...rest] = spec.run;
  if (!entry) throw new Error(`empty run command for ${spec.server}`);
  const args = [
    'run',
    '--detach',
    '--name', containerName(spec.project, spec.server),
    // Immutable servers: nothing outside the log mount (and podman's tmpfs /tmp, /run) is writable.
    '--read-only',
    // An init as PID 1 forwards SIGTERM and reaps children; without it a stop waits the timeout.
    '--init',
    '--stop-timeout', String(s.stopTimeoutS ?? DEFAULT_STOP_TIMEOUT_S),
    // Never restarted in place: a dead server is replaced by a new one (ARCHITECTURE.md).
    '--restart', 'no',
    ...(spec.user ? ['--user', spec.user] : []),
    ...(spec.pidFile ? ['--pidfile', spec.pidFile] : []),
    ...Object.entries(labels(spec)).flatMap(([k, v]) => ['--label', `${k}=${v}`]),
    '--volume', `${spec.logDir}:${s.logMount ?? DEFAULT_LOG_MOUNT}:rw`,
    // Files, not values: a secret's value never reaches podman's command line or container config.
    ...(spec.mounts ?? []).flatMap((m) => ['--volume', `${m.host}:${m.container}:${m.mode}`]),
    '--log-driver', 'k8s-file',
    '--log-opt', `path=${spec.stdoutFile}`,
    ...(s.network ? ['--network', s.network] : []),
    ...(spec.port !== undefined && s.network !== 'host' ? ['--publish', `127.0.0.1:${spec.port}:${spec.port}`] : []),
    ...(s.ulimits ?? []).flatMap((u) => ['--ulimit', u]),
    // Configuration reaches the app as flags only: a minimal, explicit environment.
    '--env', 'LANG=C.UTF-8',
    '--env', 'TZ=UTC',
    ...(spec.workdir ? ['--workdir', spec.workdir] : []),
    '--entrypoint', JSON.stringify([entry]),
    spec.image,
    ...rest,
    ...spec.flags,
  ];
  return podman(s, args);
}

/** Full inspection of some containers, as a JSON array. */
export function inspectCommand(s: PodmanSettings, refs: string[]): Command {
  return podman(s, ['container', 'inspect', '--format', 'json', ...refs]);
}

/** Every container (any state) with all the given labels, as JSON: one call for many servers. */
export function psCommand(s: PodmanSettings, filter: Record<string, string>): Command {
  return podman(s, [
    'ps', '--all', '--no-trunc', '--format', 'json',
    ...Object.entries(filter).flatMap(([k, v]) => ['--filter', `label=${k}=${v}`]),
  ]);
}

/** Stop signal (SIGTERM unless the image says otherwise), then SIGKILL after timeoutS. */
export function stopCommand(s: PodmanSettings, ref: string, timeoutS: number): Command {
  return podman(s, ['stop', '--ignore', '--time', String(timeoutS), ref]);
}

/** Removes containers (stopping any still running at once); missing ones are not an error. */
export function rmCommand(s: PodmanSettings, refs: string[]): Command {
  return podman(s, ['rm', '--force', '--ignore', '--time', '0', ...refs]);
}

export function killCommand(s: PodmanSettings, ref: string, signal = 'KILL'): Command {
  return podman(s, ['kill', '--signal', signal, ref]);
}

/** Kiln's images of one project in podman's storage, as JSON. */
export function imagesCommand(s: PodmanSettings, project: string): Command {
  return podman(s, ['images', '--format', 'json', '--filter', `reference=${imageRepository(project)}`]);
}

/** Removes image names; an image goes when its last name does. Never forced: in-use images stay. */
export function rmiCommand(s: PodmanSettings, names: string[]): Command {
  return podman(s, ['rmi', ...names]);
}

/** The host path of a log file as the container sees it (the log directory is mounted). */
export function logPathInContainer(s: PodmanSettings, hostLogFile: string): string {
  return path.posix.join(s.logMount ?? DEFAULT_LOG_MOUNT, path.basename(hostLogFile));
}

/** The environment podman runs with: the caller's, plus the chosen containers.conf. */
export function podmanEnv(s: PodmanSettings, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return s.containersConf ? { ...base, CONTAINERS_CONF: s.containersConf } : { ...base };
}

/** On a build container: the .kiln/tmp scratch entry (build-<pid>-<rand>) it builds in. */
export const BUILD_LABEL = 'kiln.build.scratch';

/** Removes a build container, running or not; nothing if it is gone already. */
export function removeBuildContainerCommand(s: PodmanSettings, name: string): Command {
  return podman(s, ['rm', '--force', '--ignore', '--time', '0', name]);
}

/**
 * A build command run inside an OS image (issue 3: "app builds in their OS"), so what it makes
 * (native modules, generated files) matches the servers that will run it. The scratch copy of
 * the app is the only writable mount; the container is removed when the build ends.
 */
export function buildInImageCommand(s: PodmanSettings, image: string, argv: string[], dir: string, container: { name: string; scratch: string }, buildEnv: Record<string, string> = {}): Command {
  const [entry, ...rest] = argv;
  if (!entry) throw new Error('empty build command');
  return podman(s, [
    'run', '--rm',
    // Named and labelled after its scratch entry: what a killed build leaves is found and removed.
    '--name', container.name,
    '--label', `${BUILD_LABEL}=${container.scratch}`,
    ...(s.ulimits ?? []).flatMap((u) => ['--ulimit', u]),
    // Builds may fetch dependencies (npm ci): the host's network, as a build on the host would have.
    '--network', 'host',
    '--volume', `${dir}:/build:rw`,
    '--workdir', '/build',
    '--env', 'LANG=C.UTF-8',
    '--env', 'TZ=UTC',
    // The declared build-env only (recorded in the tag); no .kiln path is mounted.
    ...Object.entries(buildEnv).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    '--entrypoint', JSON.stringify([entry]),
    image,
    ...rest,
  ]);
}
