// A real HAProxy (the apt package, /usr/sbin/haproxy) on a free loopback port in front of one
// backend, for the oracle test that compares what Kiln's proxy forwards with what HAProxy does.
// Its config is generated into a temp dir; the process and the dir go when the test ends.
// Not a test file itself.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './testkit.js';

export const HAPROXY = '/usr/sbin/haproxy';

/** HTTP mode with HAProxy's defaults for what it accepts: nothing loosened
 * (no accept-invalid-http-request). A new server connection per request, so one case's bytes
 * never meet another's at the backend. */
function config(port: number, backendPort: number): string {
  return [
    'global',
    '  maxconn 200',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 5s',
    '  timeout server 5s',
    '  timeout http-request 2s',
    '  option http-server-close',
    '  http-reuse never',
    'frontend kiln_oracle',
    `  bind 127.0.0.1:${port}`,
    '  default_backend recorder',
    'backend recorder',
    `  server recorder 127.0.0.1:${backendPort}`,
    '',
  ].join('\n');
}

/** Starts HAProxy in front of 127.0.0.1:`backendPort` and resolves with its port once it accepts. */
export async function startHaproxy(t: TestContext, backendPort: number): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-haproxy-'));
  const port = await freePort();
  const cfg = path.join(dir, 'haproxy.cfg');
  writeFileSync(cfg, config(port, backendPort), { mode: 0o600 });
  const child = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}): ${stderr}`);
    if (await accepts(port)) return port;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`haproxy did not listen on 127.0.0.1:${port} within 5 s: ${stderr}`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Writes `bytes` on a new connection and resolves with what came back: at the peer's close, or
 * once nothing more arrived for `idleMs` (a kept-alive connection is never closed by the peer).
 */
export function sendAndCollect(port: number, bytes: string, idleMs = 300, maxMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    let idle: NodeJS.Timeout | undefined;
    const done = () => {
      clearTimeout(idle);
      clearTimeout(cap);
      s.destroy();
      resolve(out);
    };
    const cap = setTimeout(done, maxMs);
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(done, idleMs);
    };
    s.on('connect', arm);
    s.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      arm();
    });
    s.on('error', done);
    s.on('close', done);
    s.write(bytes, 'latin1');
  });
}
