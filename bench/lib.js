// Small helpers the bench scripts share: options, medians, the proxy's admin API, child readiness.
import * as http from 'node:http';
import * as net from 'node:net';

/** A loopback port free right now (the kernel's pick). */
export function freeLoopbackPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
}

/** `--name value` on the command line, else BENCH_NAME (dashes as underscores), else `fallback`. */
export function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1 && process.argv[i + 1] && !process.argv[i + 1].startsWith('--')) return process.argv[i + 1];
  return process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] ?? fallback;
}

/** The median (the mean of the two middle values for an even count). */
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** PUT a route table to a proxy's admin socket; resolves with the answer, rejects on non-200. */
export function adminPut(socketPath, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method: 'PUT', path: '/routes' }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`PUT /routes: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The first line a child prints on stdout (its "ready" line, e.g. a port). */
export function firstLine(child, what = 'child') {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl !== -1) resolve(buf.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code} before it was ready`)));
  });
}

/**
 * The HAProxy the proxy benchmarks compare with: one frontend on loopback routing `host` to one
 * backend server, keep-alive both ways (`http-reuse always`), `threads` threads.
 */
export function haproxyConfig({ port, threads, backendPort, host }) {
  return [
    'global',
    '  maxconn 4096',
    `  nbthread ${threads}`,
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  option http-keep-alive',
    'frontend public',
    `  bind 127.0.0.1:${port}`,
    `  acl host_bench hdr(host) -i ${host}`,
    '  use_backend bench if host_bench',
    'backend bench',
    '  http-reuse always',
    `  server bench-v001-1 127.0.0.1:${backendPort}`,
    '',
  ].join('\n');
}
