// The proxy engines an e2e suite runs against (kiln.yaml `proxy.engine`): how a project is set to
// one, and the pid a test kills to kill its data plane (the embedded proxy, or HAProxy's master,
// whose workers exit with it).
import fs from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { ProxyEngine } from '../../../src/spec/types.js';

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
