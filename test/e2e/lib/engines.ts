// The proxy engines an e2e suite runs against (kiln.yaml `proxy.engine`): how a project is set to
// one, and the pid a test kills to kill its data plane (the embedded proxy, or HAProxy's master,
// whose workers exit with it).
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { ProxyEngine } from '../../../src/spec/types.js';
import type { RouteTable } from '../../../src/proxy/routes.js';
import { unixRequest } from '../../../src/util/unix-http.js';

/** A kiln.yaml edit (setupShop's `edit`) that selects `engine`. */
export function withEngine(engine: ProxyEngine): (kilnYaml: string) => string {
  return (text) => {
    const doc = parseDocument(text);
    doc.setIn(['proxy', 'engine'], engine);
    return doc.toString();
  };
}

/** The data plane's pid from its pid file; null when there is none. */
export function dataPlanePid(projectDir: string, engine: ProxyEngine): number | null {
  const run = path.join(projectDir, '.kiln', 'run');
  const file = engine === 'haproxy' ? path.join(run, 'haproxy', 'master.json') : path.join(run, 'proxy.json');
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { pid: number }).pid;
  } catch {
    return null;
  }
}

/** Where the data plane saves the route table it was given (before it applies it). */
export function routesFile(projectDir: string, engine: ProxyEngine): string {
  const run = path.join(projectDir, '.kiln', 'run');
  return engine === 'haproxy' ? path.join(run, 'haproxy', 'routes.json') : path.join(run, 'proxy-routes.json');
}

/**
 * The table the data plane routes by: the embedded proxy's GET /routes; for HAProxy the table it
 * applied, which its engine reads back against `show servers state` (src/proxy/haproxy/engine.ts).
 */
export async function routedTable(projectDir: string, engine: ProxyEngine): Promise<RouteTable> {
  if (engine === 'haproxy') return JSON.parse(fs.readFileSync(routesFile(projectDir, engine), 'utf8')) as RouteTable;
  return JSON.parse((await unixRequest(path.join(projectDir, '.kiln', 'run', 'proxy.sock'), 'GET', '/routes')).body) as RouteTable;
}
