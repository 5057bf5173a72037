// A small Kiln project for the real-cluster tests: a busybox base image, a web service (an
// httpd answering /version and /healthz, a secret flag) and a worker, all deploying to one
// kubernetes environment `prod` in the test's namespace. `release(v)` tags both apps and
// creates a release whose servers answer `v`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { TestCluster, TestNamespace } from './k8s.js';
import { kilnInNetnsArgv } from './k8s-commands.js';
import { requireBusybox } from './podman.js';
import { findRepoRoot } from '../e2e/lib/project.js';
import { killProjectProcesses } from '../e2e/lib/processes.js';

export const MINUTE = 60_000;

export interface Run { status: number; stdout: string; stderr: string }

// The server prints its version on stdout and a line to its --log-file; with /app/ticks (the
// `ticks` option) it also writes "tick <n>" there every second, numbered, so a test can see a gap
// or a duplicate in what Kiln collected.
const SERVER = [
  '#!/bin/sh',
  'port=8080',
  'log=/dev/null',
  'for a in "$@"; do case "$a" in --port=*) port="${a#--port=}" ;; --log-file=*) log="${a#--log-file=}" ;; esac; done',
  'echo "version $(cat /app/version) on $port"',
  'echo "log file: version $(cat /app/version) started" >> "$log"',
  'if [ -f /app/ticks ]; then (i=0; while :; do i=$((i+1)); echo "tick $i" >> "$log"; /bin/busybox sleep 1; done) & fi',
  'exec /bin/busybox httpd -f -p "$port" -h /app',
  '',
].join('\n');
// The worker reaches the web cluster by the URL Kiln renders for it (its Service's DNS name, so
// the cluster DNS must answer it) and says which version answered, once per change. busybox's
// wget goes through the static glibc's NSS, which crashes without its modules, even for an
// address: the name is resolved with busybox's own nslookup, trying resolv.conf's search domains
// first (the name has fewer dots than ndots) as a libc resolver does, and nc sends the request.
const WORKER = [
  '#!/bin/sh',
  "trap 'exit 0' TERM",
  'echo "worker $(cat /app/version) up"',
  'url=""',
  'for a in "$@"; do case "$a" in --web-url=*) url="${a#--web-url=}" ;; esac; done',
  'hostport="${url#http://}"; host="${hostport%%:*}"; port="${hostport##*:}"',
  'resolve() {',
  "  for d in $(/bin/busybox awk '/^search/ { for (i = 2; i <= NF; i++) print $i }' /etc/resolv.conf) ''; do",
  "    a=\"$(/bin/busybox nslookup \"$1${d:+.$d}\" 2>/dev/null | /bin/busybox awk '/^Name:/ { n = 1 } n && /^Address/ { print $2; exit }')\"",
  '    if [ -n "$a" ]; then echo "$a"; return 0; fi',
  '  done',
  '  return 1',
  '}',
  'seen=""',
  'while :; do',
  '  v=""',
  '  if ip="$(resolve "$host")"; then',
  "    r=\"$(printf 'GET /version HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' \"$host\" | /bin/busybox nc -w 2 \"$ip\" \"$port\" 2>/dev/null)\"",
  '    case "$r" in "HTTP/1."?" 200 "*) v="$(echo "$r" | /bin/busybox tail -n 1)" ;; esac',
  '  fi',
  '  if [ -n "$v" ] && [ "$v" != "$seen" ]; then echo "worker $(cat /app/version) reached web $v at $url"; seen="$v"; fi',
  '  /bin/busybox sleep 1 & wait $!',
  'done',
  '',
].join('\n');
const CRASH = ['#!/bin/sh', 'echo "boom: cannot start"', 'exit 3', ''].join('\n');

export interface ReleaseEdit { health?: string; run?: string }

export interface K8sProject {
  dir: string;
  kiln(args: string[], input?: string): Run;
  mustKiln(args: string[], input?: string): string;
  /** Tags both apps at `<version>.0.0` answering `version`, creates a release, returns its name. */
  release(version: string, edit?: ReleaseEdit): string;
  /** Names of the project's objects of a kind in the namespace, sorted. */
  objects(kind: string): string[];
  /** Stops what the project left running (a control plane and its proxy, started by env create or promote), then deletes it. */
  remove(): Promise<void>;
}

/** `kiln <args>` inside the node's namespace (the cluster's addresses are reached only there). */
export function kilnCommand(c: Pick<TestCluster, 'netnsPath'>, args: string[]): { file: string; args: string[] } {
  return kilnInNetnsArgv(c, path.join(findRepoRoot(), 'bin', 'kiln.js'), args);
}

export function kilnAt(c: Pick<TestCluster, 'netnsPath'>, dir: string, args: string[], input?: string): Run {
  const cmd = kilnCommand(c, args);
  const r = spawnSync(cmd.file, cmd.args, { cwd: dir, encoding: 'utf8', input, timeout: 10 * MINUTE });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function makeK8sProject(c: TestCluster, ns: TestNamespace, opts: { project: string; secret: string; extraYaml?: string[]; ticks?: boolean }): K8sProject {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kiln-${opts.project}-`));
  const yaml = (edit: ReleaseEdit = {}): string =>
    [
      `project: ${opts.project}`,
      ...(opts.extraYaml ?? []),
      'os:',
      '  base: { import: base.tar }',
      'services:',
      '  web:',
      '    os: base',
      `    app: { path: apps/web, run: [/bin/sh, ${edit.run ?? 'server.sh'}] }`,
      '    roles:',
      // timeout 5s, not the default 2s: under a full test run on this 2-core node the stable
      // group's Service twice had no ready endpoint for a moment (EHOSTUNREACH in the load) while
      // nothing switched it: most likely its pods' probes timing out on the starved node, which
      // is the probe doing its job, not the deploy under test moving traffic.
      `      http: { replicas: 2, port: http, health: { path: ${edit.health ?? '/healthz'}, interval: 1s, timeout: 5s, grace: 20s } }`,
      '    flags: { token-file: "${secret.web_token}" }',
      '  jobs:',
      '    os: base',
      '    app: { path: apps/web, run: [/bin/sh, worker.sh] }',
      '    roles:',
      '      worker: { replicas: 1 }',
      '    flags: { web-url: "${cluster.web-http.url}" }',
      'environments:',
      `  prod: { runtime: kubernetes, kubernetes: { namespace: ${ns.name}, kubeconfig: ${c.kubeconfig}, registry: "${c.registry}", registry-cert-dir: ${c.registryCertDir} } }`,
      '',
    ].join('\n');
  const kiln = (args: string[], input?: string): Run => kilnAt(c, dir, args, input);
  const mustKiln = (args: string[], input?: string): string => {
    const r = kiln(args, input);
    if (r.status !== 0) throw new Error(`kiln ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };

  const root = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.copyFileSync(requireBusybox(), path.join(root, 'bin', 'busybox'));
  fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(root, 'bin', 'sh'));
  assert.equal(spawnSync('tar', ['-C', root, '-cf', path.join(dir, 'base.tar'), '.']).status, 0);
  const app = path.join(dir, 'apps', 'web');
  fs.mkdirSync(app, { recursive: true });
  fs.writeFileSync(path.join(app, 'server.sh'), SERVER);
  fs.writeFileSync(path.join(app, 'worker.sh'), WORKER);
  fs.writeFileSync(path.join(app, 'crash.sh'), CRASH);
  fs.writeFileSync(path.join(app, 'healthz'), 'ok\n');
  if (opts.ticks) fs.writeFileSync(path.join(app, 'ticks'), '');
  fs.writeFileSync(path.join(dir, 'kiln.yaml'), yaml());
  mustKiln(['init']);
  mustKiln(['os', 'build', 'base']);
  mustKiln(['secret', 'set', 'web_token', '--env', 'prod'], opts.secret);

  return {
    dir,
    kiln,
    mustKiln,
    release: (version, edit) => {
      fs.writeFileSync(path.join(app, 'version'), `${version}\n`);
      fs.writeFileSync(path.join(dir, 'kiln.yaml'), yaml(edit));
      mustKiln(['app', 'tag', 'web', `${version}.0.0`]);
      mustKiln(['app', 'tag', 'jobs', `${version}.0.0`]);
      return /^(r\d+) /m.exec(mustKiln(['release', 'create']))![1]!;
    },
    objects: (kind) =>
      c.kubectlJson<{ items: Array<{ metadata: { name: string } }> }>(['get', kind, '-n', ns.name, '-l', `kiln.io/project=${opts.project}`]).items.map((o) => o.metadata.name).sort(),
    remove: async () => {
      await killProjectProcesses(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
