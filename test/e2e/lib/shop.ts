// The example shop, initialised, tagged, released as r1, with `kiln server` running and r1
// deployed to dev: the starting point of most end-to-end tests.
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { makeProject, type ServerProc, type TestProject } from './project.js';
import type { StatusView } from '../../../src/server/status.js';

/** The value of the example's one secret in tests: it must never show up anywhere but its file. */
export const SHOP_TOKEN = 'kiln-secret-7c1e4b9a2f';

export interface Shop {
  p: TestProject;
  server: ServerProc;
  status(): Promise<StatusView>;
  get(host: string, path: string): Promise<{ status: number; version: string; body: string }>;
  url(path: string): string;
  /** Tags api at `version` (after bumping its package.json) and creates the next release. */
  releaseApi(version: string, opts?: { unhealthy?: boolean }): Promise<string>;
}

/** `edit` changes kiln.yaml's text before anything runs (e.g. to add a logs export); `serverArgs` go to `kiln server`. */
export async function setupShop(opts: { edit?: (kilnYaml: string) => string; serverArgs?: string[] } = {}): Promise<Shop> {
  const p = await makeProject();
  try {
    if (opts.edit) {
      const file = path.join(p.dir, 'kiln.yaml');
      fs.writeFileSync(file, opts.edit(fs.readFileSync(file, 'utf8')));
    }
    await p.kiln(['init']);
    await p.kiln(['app', 'tag', 'api', '1.0.0']);
    await p.kiln(['app', 'tag', 'web', '1.0.0']);
    await p.kiln(['release', 'create']);
    await p.kiln(['secret', 'set', 'web_token', '--env', 'dev'], { input: SHOP_TOKEN });
    const server = await p.startServer(opts.serverArgs ? { args: opts.serverArgs } : {});
    await p.kiln(['deploy', 'r1', '--env', 'dev']);
    const shop: Shop = {
      p,
      server,
      status: async () => JSON.parse((await p.kiln(['status', '--env', 'dev', '--json'])).stdout) as StatusView,
      url: (path) => `http://127.0.0.1:${p.proxyPort}${path}`,
      get: (host, path) =>
        new Promise((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port: p.proxyPort, path, headers: { host }, agent: false }, (res) => {
              let body = '';
              res.on('data', (c: Buffer) => (body += c.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, version: String(res.headers['x-app-version'] ?? ''), body }));
            })
            .on('error', reject);
        }),
      releaseApi: async (version, opts = {}) => {
        await p.bumpVersion('api', version);
        await p.setUnhealthy('api', opts.unhealthy ?? false);
        await p.kiln(['app', 'tag', 'api', version]);
        const out = JSON.parse((await p.kiln(['release', 'create', '--json'])).stdout) as { name: string };
        return out.name;
      },
    };
    return shop;
  } catch (e) {
    await p.cleanup();
    throw e;
  }
}

/** Live (non-zombie) processes whose command line contains `needle`. */
/**
 * Live (not zombie) processes whose command line contains `needle` and, when given, `project`
 * (a project directory): tests run in parallel with their own projects whose servers have the
 * same names, so a check about one project's servers must name the project.
 */
export function processesMatching(needle: string, project?: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (!cmd.includes(needle) || (project !== undefined && !cmd.includes(project))) continue;
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (state !== 'Z' && state !== 'X') out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** POSTs `body` as JSON to the proxy at `port` for `host`: the status and the body as text. */
export function postJson(port: number, host: string, urlPath: string, body: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: 'POST', headers: { host, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }, agent: false },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}
