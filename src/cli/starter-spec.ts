// The kiln.yaml `kiln init` writes when there is none (as `kamal init` writes deploy.yml): one
// service, the directory itself as its app, two servers behind a health check, one process
// environment. It validates as written, so `kiln app tag` works on it before any edit.
import fs from 'node:fs';
import path from 'node:path';

/** A project name Kiln accepts ([a-z0-9-], starting with a letter), from the directory's name. */
export function projectNameFor(dir: string): string {
  const n = path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .replace(/-+$/, '')
    .slice(0, 30)
    .replace(/-+$/, '');
  return n || 'app';
}

/** What the directory's package.json says about starting and building it, if anything. */
function nodeApp(dir: string): { run: string[]; build?: string[] } {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { main?: unknown };
    const main = typeof pkg.main === 'string' && /^[\w./-]+$/.test(pkg.main) ? pkg.main : 'server.js';
    return { run: ['node', main], ...(fs.existsSync(path.join(dir, 'package-lock.json')) ? { build: ['npm', 'ci', '--omit=dev'] } : {}) };
  } catch {
    return { run: ['node', 'server.js'] };
  }
}

export function starterSpec(dir: string): string {
  const project = projectNameFor(dir);
  const app = nodeApp(dir);
  const list = (a: string[]): string => `[${a.join(', ')}]`;
  return `# kiln.yaml — what Kiln builds and runs. Written by \`kiln init\` as a start: edit it.
# Every key: docs/kiln-yaml.md (an editor can use \`kiln schema\`). Then:
#   kiln app tag web 1.0.0
#   kiln release create
#   kiln server &
#   kiln deploy r1 --env dev
project: ${project}
domain: ${project}.test
services:
  web:
    # The app is this directory (.git, .kiln and node_modules are left out). Kiln starts it as
    # run + flags: --port=<n> and --log-file=<path> are always given; add your own under flags.
    app: { path: ., ${app.build ? `build: ${list(app.build)}, ` : ''}run: ${list(app.run)} }
    roles:
      # Two servers on a port Kiln picks; each must answer GET /healthz with 2xx to get traffic.
      http: { replicas: 2, port: http, health: /healthz }
    flags: {}
environments:
  # Servers are processes on this machine; runtime: podman runs the same release in containers.
  dev:
    runtime: process
`;
}
