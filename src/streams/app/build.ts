// Building an app: copy its source into a scratch directory, run the service's build command
// there (argv, no shell), pack the output as a deterministic tar layer, store it in the OCI
// layout. The source directory is never written to, and the scratch copy is always removed: at
// the end, on Ctrl-C, or by the next command after a kill -9 (it is a scratch entry
// build-<pid>-…, store/scratch.ts).
// The build gets a scrubbed environment (the declared build-env, PATH, LANG, TZ, and HOME and
// TMPDIR inside the scratch directory) and, when Kiln is root, runs as the store's build uid,
// which owns the scratch copy and may not enter .kiln (docs/isolation.md).
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { KilnError } from '../../errors.js';
import { serviceOf } from '../../spec/lookup.js';
import type { Digest } from '../../release/types.js';
import type { ProjectSpec, ServiceSpec } from '../../spec/types.js';
import { MEDIA, OciLayout } from '../../store/oci-layout.js';
import { packDirectory } from '../../image/tar.js';
import { scratchDir, type Scratch } from '../../store/scratch.js';
import { buildIdentityOf } from '../../isolation/build-user.js';
import { firstClosedAncestor } from '../../store/owned-paths.js';
import type { Identity } from '../../isolation/isolation.js';

export interface BuiltApp {
  /** Digest of the uncompressed tar layer. */
  digest: Digest;
  size: number;
  /** Regular files in the layer. */
  files: number;
}

/**
 * Runs `argv` in `dir` elsewhere (inside the service's OS image): returns the command to run.
 * It records how to remove what it makes (its container) with scratch.cleanupCommand.
 */
export type BuildWrap = (argv: string[], dir: string, buildEnv: Record<string, string>, scratch: Scratch) => { file: string; args: string[]; env?: NodeJS.ProcessEnv };

export interface BuildOptions {
  kilnDir: string;
  /** Each line the build command prints (stdout and stderr), and Kiln's own steps. */
  onProgress?: (line: string) => void;
  /**
   * Where the build command runs: by default on this host; a container runtime passes a
   * function returning the command that runs `argv` in `dir` inside the service's OS image.
   */
  buildIn?: { describe: string; wrap: BuildWrap };
  /** Who the build command runs as on this host; default: the store's build uid when Kiln is root. */
  runAs?: Identity | null;
  /** Called with the packed layer's digest before anything is stored; throwing stops the build. */
  beforeStore?: (digest: string) => void;
}

// Not part of an app's source; a build that needs node_modules makes them (npm ci).
const SKIP_IN_COPY = new Set(['.git', '.kiln', 'node_modules']);
const TAIL_LINES = 20;
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * The whole environment of a build on the host: nothing of the caller's but PATH (a build needs
 * to find its tools), then the declared build-env; HOME and TMPDIR are the scratch directory's.
 */
export function buildEnvironment(svc: ServiceSpec, scratch: string, callerPath = process.env.PATH): Record<string, string> {
  return {
    PATH: callerPath ?? DEFAULT_PATH,
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    ...svc.app.buildEnv,
    HOME: path.join(scratch, 'home'),
    TMPDIR: path.join(scratch, 'tmp'),
  };
}

/**
 * The entries of a search path that an unprivileged user can pass through (o+x on every directory
 * down to it). Root's PATH often names directories under /root: execvp as the build user would
 * then fail with EACCES on them instead of finding the program further on, or saying it is not
 * there.
 */
export function passableSearchPath(searchPath: string): string {
  const open = (dir: string): boolean => {
    try {
      return firstClosedAncestor(path.join(dir, 'x')) === null; // checks dir itself, then each one above
    } catch {
      return false;
    }
  };
  const kept = searchPath.split(':').filter((d) => path.isAbsolute(d) && open(d));
  return kept.length ? kept.join(':') : DEFAULT_PATH;
}

/** Gives the scratch copy to the build user (links themselves, never their targets). */
function chownTree(dir: string, who: Identity): void {
  fs.lchownSync(dir, who.uid, who.gid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) chownTree(p, who);
    else fs.lchownSync(p, who.uid, who.gid);
  }
}

export async function buildApp(spec: ProjectSpec, service: string, opts: BuildOptions): Promise<BuiltApp> {
  const svc = serviceOf(spec, service);
  const progress = opts.onProgress ?? (() => {});
  const oci = OciLayout.open(path.join(opts.kilnDir, 'oci'));
  const srcDir = path.resolve(spec.dir, svc.app.path);
  if (!fs.existsSync(srcDir) || !fs.statSync(srcDir).isDirectory()) {
    throw new KilnError('BUILD_FAILED', `app.path of service ${service} is not a directory: ${srcDir}`, {
      location: { file: spec.file },
      hint: 'fix services.' + service + '.app.path in kiln.yaml',
    });
  }
  // Shared (outside .kiln): the build runs as the build uid, which must reach its copy.
  const entry = scratchDir(opts.kilnDir, 'build', { shared: true });
  const scratch = entry.path;
  try {
    const work = path.join(scratch, 'src');
    progress(`copying ${path.relative(spec.dir, srcDir) || '.'} to scratch directory ${scratch}`);
    fs.cpSync(srcDir, work, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (p) => p === srcDir || !SKIP_IN_COPY.has(path.basename(p)),
    });
    if (svc.app.build && svc.app.build.length > 0) {
      progress(`building: ${svc.app.build.join(' ')}${opts.buildIn ? ` (in ${opts.buildIn.describe})` : ''}`);
      const env = buildEnvironment(svc, scratch);
      fs.mkdirSync(env.HOME as string, { mode: 0o700 });
      fs.mkdirSync(env.TMPDIR as string, { mode: 0o700 });
      const runAs = opts.buildIn ? null : opts.runAs !== undefined ? opts.runAs : buildIdentityOf(opts.kilnDir);
      if (runAs) {
        chownTree(scratch, runAs);
        env.PATH = passableSearchPath(env.PATH ?? DEFAULT_PATH);
      }
      const wrapped = opts.buildIn?.wrap(svc.app.build, work, svc.app.buildEnv, entry);
      await runBuild(wrapped ? [wrapped.file, ...wrapped.args] : svc.app.build, svc.app.build, work, service, progress, wrapped?.env ?? env, runAs);
    }
    const outDir = outputDir(work, svc, service, spec.file);
    progress('packing the app layer');
    const packed = await packDirectory(outDir, {
      prefix: 'app/',
      exclude: svc.app.exclude,
      outFile: path.join(scratch, 'layer.tar'),
      displayName: path.join(svc.app.path, svc.app.output ?? ''),
    });
    // Checked before storing: a refused build (e.g. a tag conflict) leaves the store untouched.
    opts.beforeStore?.(packed.digest);
    const blob = await oci.putBlobFromFile(packed.path);
    if (blob.digest !== packed.digest) throw new Error(`layer digest changed while storing: ${packed.digest} vs ${blob.digest}`);
    // The manifest is deterministic from the layer, so storing it here and again at tag time is one blob.
    oci.putArtifact(MEDIA.appArtifact, [{ mediaType: MEDIA.layerTar, digest: blob.digest, size: blob.size }]);
    progress(`packed ${packed.files} files, ${packed.size} bytes: ${packed.digest}`);
    return { digest: packed.digest, size: packed.size, files: packed.files };
  } finally {
    entry.remove();
  }
}

function outputDir(work: string, svc: ServiceSpec, service: string, specFile: string): string {
  if (!svc.app.output) return work;
  const out = path.resolve(work, svc.app.output);
  const rel = path.relative(work, out);
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new KilnError('BUILD_FAILED', `app.output "${svc.app.output}" of service ${service} points outside the app directory`, {
      location: { file: specFile },
    });
  }
  if (!fs.existsSync(out) || !fs.statSync(out).isDirectory()) {
    throw new KilnError('BUILD_FAILED', `the build of ${service} did not produce its output directory "${svc.app.output}"`, {
      location: { file: specFile },
      hint: 'check app.build and app.output in kiln.yaml',
    });
  }
  return out;
}

function runBuild(
  command: string[],
  argv: string[],
  cwd: string,
  service: string,
  progress: (line: string) => void,
  env: NodeJS.ProcessEnv,
  runAs: Identity | null,
): Promise<void> {
  const [cmd, ...args] = command as [string, ...string[]];
  const tail: string[] = [];
  const onLine = (line: string): void => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    progress(line);
  };
  return new Promise((resolve, reject) => {
    // libuv drops every supplementary group (setgroups(0)) before setgid/setuid.
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env, ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}) });
    const pending = [lineReader(child.stdout, onLine), lineReader(child.stderr, onLine)];
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(
        new KilnError('BUILD_FAILED', `the build command of ${service} could not start: ${cmd}: ${e.code === 'ENOENT' ? 'command not found' : e.message}${runAs ? ` (as uid ${runAs.uid})` : ''}`, {
          hint: `check app.build in kiln.yaml; it is run without a shell, as an argument list, with PATH=${env.PATH ?? ''}${runAs ? ', as the unprivileged build user: the program must be readable and executable by other users' : ''}`,
        }),
      );
    });
    child.on('close', (code, signal) => {
      void Promise.all(pending).then(() => {
        if (code === 0) return resolve();
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        reject(
          new KilnError('BUILD_FAILED', `the build of ${service} failed: \`${argv.join(' ')}\` ${how}`, {
            details: tail.length ? ['last lines of output:', ...tail] : ['(no output)'],
          }),
        );
      });
    });
  });
}

function lineReader(stream: NodeJS.ReadableStream, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, nl).replace(/\r$/, ''));
        buf = buf.slice(nl + 1);
      }
    });
    stream.on('end', () => {
      if (buf) onLine(buf);
      resolve();
    });
  });
}
