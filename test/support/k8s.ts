// The real Kubernetes test cluster for tests (test/k8s/cluster.sh: one node in a network namespace
// the script makes). ensureCluster() reuses a healthy cluster or brings one up — it never skips: a
// cluster that cannot come up fails the test with the script's own message. It stays up after the
// tests (the next run reuses it); `test/k8s/cluster.sh down` removes it, as .ci/run does.
//
// Traffic rule: the host reaches only the node address (apiserver, registry) through the veth the
// script made; ClusterIPs and pod IPs are reached from inside the namespace (inClusterNet).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findRepoRoot } from '../e2e/lib/project.js';
import {
  clusterCommand,
  ctrImportCommand,
  curlArgv,
  imageBuildCommand,
  inNetnsCommand,
  kubectlCommand,
  skopeoPushCommand,
  type ClusterEnv,
  type Command,
} from './k8s-commands.js';

export type { ClusterEnv } from './k8s-commands.js';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface HttpAnswer {
  /** 0 when no HTTP answer came (refused, timed out, unreachable). */
  status: number;
  body: string;
  error: string;
}

export interface TestNamespace {
  name: string;
  /** Deletes the namespace and everything in it (does not wait for the finalizers). */
  delete(): void;
}

export interface TestCluster extends ClusterEnv {
  /** kubectl with the cluster's kubeconfig; throws with kubectl's stderr unless it exits 0. */
  kubectl(args: string[], input?: string): string;
  /** kubectl … -o json, parsed. */
  kubectlJson<T>(args: string[]): T;
  /** Runs argv inside the node's network namespace (nsenter --net) and returns what it did. */
  inClusterNet(argv: string[], input?: string): RunResult;
  /** The same, as a child process (for load that runs while a test changes the cluster). */
  spawnInClusterNet(argv: string[]): ChildProcess;
  /** One HTTP GET from inside the namespace (to a ClusterIP or a pod IP). */
  httpGet(url: string, timeoutS?: number): HttpAnswer;
  /** A fresh namespace for one test (ready for pods: its default ServiceAccount exists). */
  createNamespace(prefix: string): Promise<TestNamespace>;
  /** Imports an OCI archive into the node's containerd (for imagePullPolicy: Never). */
  importImage(archive: string, baseName: string): void;
  /** Pushes an OCI archive to the in-namespace registry; returns `<registry>/<repo>@<digest>`. */
  pushImage(archive: string, tag: string, repo: string): string;
}

/** The one executor of the helpers' commands. */
export function run(cmd: Command, input?: string, timeoutMs = 600_000): RunResult {
  const r = spawnSync(cmd.file, cmd.args, { encoding: 'utf8', input, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) return { status: null, stdout: r.stdout ?? '', stderr: `${cmd.file}: ${r.error.message}\n${r.stderr ?? ''}` };
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function mustRun(cmd: Command, input?: string): string {
  const r = run(cmd, input);
  if (r.status !== 0) throw new Error(`${path.basename(cmd.file)} ${cmd.args.join(' ')} failed (${r.status}):\n${r.stderr.trim()}`);
  return r.stdout;
}

export const clusterScript = (): string => path.join(findRepoRoot(), 'test', 'k8s', 'cluster.sh');

let cluster: TestCluster | undefined;

/** The test cluster, brought up (or reused) once per test process. */
export function ensureCluster(): TestCluster {
  if (cluster) return cluster;
  if (process.getuid?.() !== 0) {
    throw new Error('the Kubernetes test cluster needs root (network namespace, containerd, kubelet): run the tests as root');
  }
  const script = clusterScript();
  // up prints its progress on stderr; the script's messages say what failed and where the logs are.
  const up = run(clusterCommand(script, 'up'), undefined, 90 * 60_000);
  if (up.status !== 0) throw new Error(`test/k8s/cluster.sh up failed (${up.status}):\n${up.stderr.trim()}`);
  const env = JSON.parse(mustRun(clusterCommand(script, 'env'))) as ClusterEnv;
  cluster = withHelpers(env);
  return cluster;
}

function withHelpers(env: ClusterEnv): TestCluster {
  const kubectl = (args: string[], input?: string): string => mustRun(kubectlCommand(env, args), input);
  const inClusterNet = (argv: string[], input?: string): RunResult => run(inNetnsCommand(env, argv), input);
  return {
    ...env,
    kubectl,
    kubectlJson: <T>(args: string[]): T => JSON.parse(kubectl([...args, '-o', 'json'])) as T,
    inClusterNet,
    spawnInClusterNet: (argv) => {
      const c = inNetnsCommand(env, argv);
      return spawn(c.file, c.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    },
    httpGet: (url, timeoutS = 5) => {
      const r = inClusterNet(curlArgv(url, timeoutS));
      const nl = r.stdout.lastIndexOf('\n');
      const code = Number(r.stdout.slice(nl + 1)) || 0;
      return { status: code, body: nl === -1 ? '' : r.stdout.slice(0, nl), error: r.status === 0 ? '' : r.stderr.trim() };
    },
    createNamespace: async (prefix) => {
      const name = `${prefix}-${process.pid}-${crypto.randomBytes(3).toString('hex')}`.toLowerCase().slice(0, 63);
      kubectl(['create', 'namespace', name]);
      // Pods need the namespace's default ServiceAccount; the controller makes it a moment later.
      await waitFor(`ServiceAccount default in ${name}`, 60_000, () => run(kubectlCommand(env, ['get', 'serviceaccount', 'default', '-n', name])).status === 0);
      return { name, delete: () => void run(kubectlCommand(env, ['delete', 'namespace', name, '--wait=false', '--ignore-not-found'])) };
    },
    importImage: (archive, baseName) => void mustRun(ctrImportCommand(env, archive, baseName)),
    pushImage: (archive, tag, repo) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-k8s-push-'));
      try {
        const digestFile = path.join(dir, 'digest');
        mustRun(skopeoPushCommand(env, archive, tag, repo, digestFile));
        return `${env.registry}/${repo}@${fs.readFileSync(digestFile, 'utf8').trim()}`;
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Polls `check` until it is true; throws naming `what` (and the last value seen) after `timeoutMs`. */
export async function waitFor(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>, intervalMs = 500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * The project's test HTTP server image (test/k8s/images: busybox-static httpd), built or reused
 * as an OCI archive in the cluster's image cache. Its tag is "1"; it serves its pod name at / and
 * "ok" at /healthz (left out when FAIL_READY is set).
 */
export function testServerImage(): { archive: string; tag: string; digest: string } {
  const out = mustRun(imageBuildCommand(path.join(findRepoRoot(), 'test', 'k8s', 'images', 'build.sh'), 'httpd', imageCacheDir()));
  const [archive, digest] = out.trim().split(' ');
  if (!archive || !digest) throw new Error(`test/k8s/images/build.sh printed no archive and digest: ${out}`);
  return { archive, tag: '1', digest };
}

const imageCacheDir = (): string => path.join(process.env['KILN_K8S_CACHE'] ?? '/var/cache/kiln/k8s', 'images');
