// The podman runtime: each server is a container created from the release's image (by manifest
// digest) with a read-only root filesystem, an init, labels naming project / environment /
// cluster / group / server, the log directory mounted from the host and its port published on
// 127.0.0.1. Containers are never restarted in place; a restarted control plane finds them again
// by their labels (listServers) with the same handle it stored.
//
// Liveness costs no podman call: a running container's init is a host process, so the handle
// keeps its (pid, start time) like the process runtime and isAlive reads /proc. Podman is asked
// only for what needs it — start, stop, adoption, clean-up — and listServers answers a whole
// project with one `podman ps`, cached briefly and shared by concurrent callers.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { KilnError } from '../../errors.js';
import { isProcessAlive, processStartTime } from '../process/proc.js';
import {
  containerName,
  imageExistsCommand,
  imageName,
  imageRepository,
  imagesCommand,
  inspectCommand,
  loadImageCommand,
  logPathInContainer,
  podmanEnv,
  psCommand,
  rmCommand,
  rmiCommand,
  runCommand,
  stopCommand,
  DATA_MOUNT,
  SECRETS_MOUNT,
  type Command,
  type Mount,
  type PodmanSettings,
} from './commands.js';
import { makeExecutor, mustRun, type Executor } from './executor.js';
import type { PrepareServer, Runtime } from '../types.js';
import { argv, filesOf, portText, type PartResolver } from '../args.js';
import { LABEL, type ContainerHandle, type ContainerInfo, type ContainerLaunch, type ContainerRuntime, type ImageRef } from './handle.js';

export interface PodmanRuntimeOptions {
  settings?: PodmanSettings;
  /** Absolute .kiln directory: labelled on every container; adoption only takes matching ones. */
  store?: string;
  /** Runs the commands; defaults to execFile with the settings' environment. */
  exec?: Executor;
  /** How long one `podman ps` answers listServers; default 500 ms. */
  cacheMs?: number;
  /** Who a server runs as inside its container, its mounted files owned for it (src/isolation/). */
  prepare?: PrepareServer;
}

interface PsEntry {
  Id: string;
  Names?: string[];
  State: string;
  Pid?: number;
  ExitCode?: number;
  Exited?: boolean;
  ImageID?: string;
  Labels?: Record<string, string> | null;
  Ports?: Array<{ host_ip?: string; host_port?: number }> | null;
}

interface PodmanImage {
  Id: string;
  Names?: string[] | null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Runtime as well: its handle and launch are ServerHandle / ServerLaunch plus the fields the
// proposal in handle.ts adds (ref, image), so it plugs into the control plane once they land.
export class PodmanRuntime implements ContainerRuntime, Runtime {
  readonly name = 'podman' as const;
  readonly settings: PodmanSettings;
  private readonly exec: Executor;
  private readonly store: string | undefined;
  private readonly cacheMs: number;
  private readonly prepare: PrepareServer;
  private readonly listings = new Map<string, { at: number; result: Promise<ContainerInfo[]> }>();
  private readonly loading = new Map<string, Promise<void>>();

  constructor(opts: PodmanRuntimeOptions = {}) {
    this.settings = opts.settings ?? {};
    this.store = opts.store;
    this.exec = opts.exec ?? makeExecutor(podmanEnv(this.settings));
    this.cacheMs = opts.cacheMs ?? 500;
    this.prepare = opts.prepare ?? (() => null);
  }

  /**
   * The files the server's arguments name, as bind mounts: each secret file alone, read-only,
   * under the secret's own name (a version file is not the whole secrets directory), and the
   * directory of each SQLite store file read-write (SQLite writes its journal beside the file).
   * With them, what each reference is inside the container.
   */
  containerMounts(launch: ContainerLaunch): { mounts: Mount[]; resolve: PartResolver } {
    const mounts: Mount[] = [];
    for (const f of filesOf(launch.args)) {
      const container = f.kind === 'secret' ? path.posix.join(SECRETS_MOUNT, f.name) : path.posix.join(DATA_MOUNT, f.name);
      const host = f.kind === 'secret' ? f.host : path.dirname(f.host);
      if (!mounts.some((m) => m.container === container)) mounts.push({ host, container, mode: f.kind === 'secret' ? 'ro' : 'rw' });
    }
    const logFile = logPathInContainer(this.settings, launch.logFile);
    const resolve: PartResolver = (p) => {
      switch (p.kind) {
        case 'port':
          // Published as the same number inside: --port means the same on both sides.
          return portText(launch);
        case 'log-file':
          return logFile;
        case 'secret':
          return path.posix.join(SECRETS_MOUNT, p.name);
        case 'store':
          return path.posix.join(DATA_MOUNT, p.name, path.basename(p.host));
      }
    };
    return { mounts, resolve };
  }

  /** The server's arguments as the container sees them: its files at their paths inside. */
  containerArgs(launch: ContainerLaunch, resolve = this.containerMounts(launch).resolve): string[] {
    return argv(launch.args, resolve);
  }

  private runCmd(launch: ContainerLaunch, who: { uid: number; gid: number } | null = null): Command {
    const { mounts, resolve } = this.containerMounts(launch);
    return runCommand(this.settings, {
      ...(who ? { user: `${who.uid}:${who.gid}` } : {}),
      project: launch.project,
      env: launch.env,
      cluster: launch.cluster,
      group: launch.group,
      server: launch.name,
      ...(this.store !== undefined ? { store: this.store } : {}),
      image: this.imageRef(launch.project, launch.image),
      run: launch.run,
      flags: this.containerArgs(launch, resolve),
      logDir: path.dirname(launch.logFile),
      mounts,
      stdoutFile: launch.stdoutFile,
      pidFile: this.pidFile(launch),
      ...(launch.port !== undefined ? { port: launch.port } : launch.planned ? { port: portText(launch) } : {}),
    });
  }

  /** In the server's own run directory: also a pid file like the process runtime's helpers expect. */
  private pidFile(launch: ContainerLaunch): string {
    return path.join(launch.workDir, 'container.pid');
  }

  command(launch: ContainerLaunch): { file: string; args: string[]; cwd: string } {
    return { ...this.runCmd(launch), cwd: launch.workDir };
  }

  /** The reference containers run: pinned by manifest digest, so a moved layout ref cannot change it. */
  imageRef(project: string, image: ImageRef): string {
    return `${imageRepository(project)}@${image.digest}`;
  }

  /** Loads the image from Kiln's OCI layout into podman's storage unless it is there already. */
  ensureImage(project: string, image: ImageRef): Promise<void> {
    const key = this.imageRef(project, image);
    let p = this.loading.get(key);
    if (!p) {
      p = this.load(project, image).finally(() => this.loading.delete(key));
      this.loading.set(key, p);
    }
    return p;
  }

  private async load(project: string, image: ImageRef): Promise<void> {
    const ref = this.imageRef(project, image);
    if ((await this.exec(imageExistsCommand(this.settings, ref))).code === 0) return;
    await mustRun(this.exec, loadImageCommand(this.settings, project, image), `loading image ${image.digest} from ${image.layout}`);
    if ((await this.exec(imageExistsCommand(this.settings, ref))).code !== 0) {
      // Do not leave the other content in storage under a name that claims this digest.
      await this.exec(rmiCommand(this.settings, [imageName(project, image)]));
      throw new KilnError('RUNTIME_FAILED', `image "${image.ref}" in ${image.layout} is not ${image.digest}`, {
        hint: 'the OCI layout changed under the release; rebuild the image (kiln image build) or run kiln verify',
      });
    }
  }

  async start(launch: ContainerLaunch): Promise<ContainerHandle> {
    if (!launch.image) throw new Error(`server ${launch.name}: the podman runtime needs launch.image`);
    await this.ensureImage(launch.project, launch.image);
    mkdirSync(path.dirname(launch.logFile), { recursive: true });
    mkdirSync(path.dirname(launch.stdoutFile), { recursive: true });
    mkdirSync(launch.workDir, { recursive: true });
    // Not root inside: the environment's own uid, which owns its mounted log dir, secrets and stores.
    const who = this.prepare(launch);
    const pidFile = this.pidFile(launch);
    rmSync(pidFile, { force: true });
    this.listings.delete(launch.project);
    let id: string;
    try {
      id = (await mustRun(this.exec, this.runCmd(launch, who), `starting server ${launch.name}`)).trim().split('\n').at(-1) ?? '';
    } catch (e) {
      // A run that fails after creating the container (say, the command is not in the image)
      // leaves it behind; a failed start must leave nothing.
      await this.exec(rmCommand(this.settings, [containerName(launch.project, launch.name)]));
      throw e;
    }
    let pid = 0;
    try {
      pid = Number(readFileSync(pidFile, 'utf8').trim());
    } catch {
      // no pid file: the container never ran
    }
    const startTime = pid > 0 ? processStartTime(pid) : null;
    if (startTime === null) {
      const [info] = JSON.parse((await this.exec(inspectCommand(this.settings, [id]))).stdout || '[]') as Array<{ State?: { ExitCode?: number } }>;
      await this.exec(rmCommand(this.settings, [id]));
      throw new KilnError('RUNTIME_FAILED', `server ${launch.name} exited immediately (exit code ${info?.State?.ExitCode ?? 'unknown'})`, {
        hint: `see its output in ${launch.stdoutFile}`,
      });
    }
    return { pid, startTime, ref: id };
  }

  isAlive(h: ContainerHandle): Promise<boolean> {
    return Promise.resolve(isProcessAlive(h.pid, h.startTime));
  }

  /** Stop signal, SIGKILL after graceMs (rounded up to seconds, podman's unit), then removal. */
  async stop(h: ContainerHandle, graceMs: number): Promise<void> {
    if (!h.ref) throw new Error(`container handle without ref (pid ${h.pid}): the servers row lacks runtime_ref`);
    const seconds = Math.max(0, Math.ceil(graceMs / 1000));
    if (isProcessAlive(h.pid, h.startTime)) await mustRun(this.exec, stopCommand(this.settings, h.ref, seconds), `stopping container ${h.ref.slice(0, 12)}`);
    // podman stop returns when the container's state says stopped; make sure the init is gone too.
    while (isProcessAlive(h.pid, h.startTime)) await sleep(20);
    await mustRun(this.exec, rmCommand(this.settings, [h.ref]), `removing container ${h.ref.slice(0, 12)}`);
    this.listings.clear();
  }

  /**
   * Every container of a project (any state), from one `podman ps`. Answers within cacheMs of an
   * earlier call come from that call; `fresh` forces a new one.
   */
  listServers(project: string, opts: { fresh?: boolean } = {}): Promise<ContainerInfo[]> {
    const hit = this.listings.get(project);
    if (hit && !opts.fresh && Date.now() - hit.at < this.cacheMs) return hit.result;
    const result = this.ps(project);
    this.listings.set(project, { at: Date.now(), result });
    result.catch(() => this.listings.delete(project));
    return result;
  }

  private async ps(project: string): Promise<ContainerInfo[]> {
    const filter: Record<string, string> = { [LABEL.project]: project, ...(this.store !== undefined ? { [LABEL.store]: this.store } : {}) };
    const out = await mustRun(this.exec, psCommand(this.settings, filter), `listing the containers of ${project}`);
    const entries = (JSON.parse(out || '[]') as PsEntry[] | null) ?? [];
    return entries.map((e) => {
      const l = e.Labels ?? {};
      const running = e.State === 'running' && (e.Pid ?? 0) > 0;
      const startTime = running ? processStartTime(e.Pid as number) : null;
      return {
        ref: e.Id,
        name: e.Names?.[0] ?? '',
        project: l[LABEL.project] ?? '',
        env: l[LABEL.env] ?? '',
        cluster: l[LABEL.cluster] ?? '',
        group: l[LABEL.group] ?? '',
        server: l[LABEL.server] ?? '',
        state: e.State,
        running: running && startTime !== null,
        handle: running && startTime !== null ? { pid: e.Pid as number, startTime, ref: e.Id } : null,
        exitCode: e.Exited ? (e.ExitCode ?? null) : null,
        imageId: e.ImageID ?? '',
        hostPorts: (e.Ports ?? []).flatMap((p) => (p.host_port !== undefined ? [p.host_port] : [])),
      };
    });
  }

  /** Removes the project's containers that are not running (dead servers); returns their server names. */
  async removeStopped(project: string): Promise<string[]> {
    const stopped = (await this.listServers(project, { fresh: true })).filter((c) => !c.running && c.state !== 'running');
    if (stopped.length) await mustRun(this.exec, rmCommand(this.settings, stopped.map((c) => c.ref)), `removing stopped containers of ${project}`);
    this.listings.delete(project);
    return stopped.map((c) => c.server);
  }

  /**
   * Removes the project's images that no container uses and that are not in `keep` (manifest
   * digests of releases still live or kept for rollback). Returns the image names removed.
   */
  async removeUnusedImages(project: string, keep: readonly string[] = []): Promise<string[]> {
    const used = new Set((await this.listServers(project, { fresh: true })).map((c) => c.imageId));
    const images = (JSON.parse((await mustRun(this.exec, imagesCommand(this.settings, project), `listing images of ${project}`)) || '[]') as PodmanImage[] | null) ?? [];
    const keepNames = new Set(keep.map((d) => imageName(project, { layout: '', ref: '', digest: d as ImageRef['digest'] })));
    const removed: string[] = [];
    const seen = new Set<string>();
    for (const img of images) {
      // `images` lists an image once per name; decide per image id, remove per name.
      if (seen.has(img.Id) || used.has(img.Id)) continue;
      seen.add(img.Id);
      for (const name of img.Names ?? []) {
        if (!name.startsWith(`${imageRepository(project)}:`) || keepNames.has(name)) continue;
        // Another project's container may use the same content under another name: then podman
        // only drops this name, which is what we want; an in-use failure is left for next time.
        if ((await this.exec(rmiCommand(this.settings, [name]))).code === 0) removed.push(name);
      }
    }
    return removed;
  }
}
