'use strict';
// Shop web: an HTML page listing the api's items, fetched through the api cluster's load
// balancer (--api-url). All configuration comes from flags; nothing from environment variables.
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const rt = require('./runtime.js');

const PROGRAM = 'web';
const FLAGS = {
  port: { help: 'port to listen on (Kiln passes it)' },
  host: { default: '127.0.0.1', help: 'address to listen on' },
  'log-file': { help: 'file the app appends its JSON-lines log to (required)' },
  'api-url': { help: 'base URL of the api, e.g. http://127.0.0.1:41234 (required)' },
  'token-file': { help: 'file holding the shop token (a secret: Kiln passes the path, never the value); optional' },
};
const API_TIMEOUT_MS = 5000;

const flags = rt.flagsOrExit(`node server.js (${PROGRAM})`, process.argv.slice(2), FLAGS);
const pkg = rt.readPackage(__dirname);
const version = String(pkg.version);
const unhealthy = pkg.unhealthy === true;
const logFile = rt.requireFlag(PROGRAM, flags, 'log-file');
const port = rt.parsePort(PROGRAM, rt.requireFlag(PROGRAM, flags, 'port'));
const apiUrl = parseApiUrl(rt.requireFlag(PROGRAM, flags, 'api-url'));
// Written by build.js; its presence shows the artifact is the build's output, not the source.
const buildInfo = readBuildInfo();
// The secret itself is never logged or shown: only a fingerprint proves it was read.
const tokenFingerprint = flags['token-file'] === undefined ? null : readTokenFingerprint(flags['token-file']);

function readTokenFingerprint(file) {
  let value;
  try {
    value = require('node:fs').readFileSync(file);
  } catch (e) {
    rt.badFlag(PROGRAM, `--token-file ${file} cannot be read: ${e.code || e.message}`);
  }
  return 'sha256:' + require('node:crypto').createHash('sha256').update(value).digest('hex').slice(0, 12);
}

// One keep-alive pool to the api's load balancer: no connection set-up per page. Idle pooled
// connections are dropped after 4 s, before a server's usual 5 s keep-alive timeout, so this
// side closes first; the rare race that remains is retried once (see fetchItems).
const agent = new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 4000 });

function parseApiUrl(value) {
  let u;
  try {
    u = new URL(value);
  } catch {
    rt.badFlag(PROGRAM, `--api-url must be an http:// URL, got "${value}"`);
  }
  if (u.protocol !== 'http:') rt.badFlag(PROGRAM, `--api-url must be an http:// URL, got "${value}"`);
  return u;
}

function readBuildInfo() {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, 'build-info.json'), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * GET <api-url>/items, resolved with the parsed body or rejected with a reason fit for a page.
 * A GET that fails on a reused keep-alive connection before any response (the server closed
 * it as we sent) is retried once on a fresh one: it never reached the api, so it is safe.
 */
function fetchItems(retried = false) {
  const target = new URL(apiUrl.pathname.replace(/\/$/, '') + '/items', apiUrl);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.get(target, { agent, timeout: API_TIMEOUT_MS }, (res) => {
      answered = true;
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) return reject(new Error(`GET ${target} answered ${res.statusCode}: ${body.slice(0, 200)}`));
        try {
          resolve({ body: JSON.parse(body), apiVersion: res.headers['x-app-version'] });
        } catch {
          reject(new Error(`GET ${target} answered with invalid JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${target} timed out after ${API_TIMEOUT_MS} ms`)));
    req.on('error', (err) => {
      if (!answered && !retried && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        return resolve(fetchItems(true));
      }
      reject(new Error(`GET ${target} failed: ${err.code || ''} ${err.message}`.replace(/\s+/g, ' ')));
    });
  });
}

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function page(title, body) {
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${esc(title)}</title></head>\n<body>\n${body}\n</body></html>\n`;
}

const log = rt.openLog(PROGRAM, logFile, { service: 'web', version, pid: process.pid });
log.write('start', { port, apiUrl: apiUrl.href, built: buildInfo !== null, unhealthy, token: tokenFingerprint });

rt.serve({
  program: PROGRAM,
  version,
  host: flags.host,
  port,
  log,
  async handler(req, res) {
    const p = new URL(req.url, 'http://x').pathname;
    if (p === '/healthz') {
      if (unhealthy) return rt.send(res, 503, 'text/plain', 'unhealthy: this build is marked "unhealthy": true in package.json\n');
      return rt.send(res, 200, 'text/plain', 'ok\n');
    }
    if (p === '/build-info') {
      if (!buildInfo) return rt.sendJson(res, 404, { error: 'no build-info.json: this copy was not built with build.js' });
      return rt.sendJson(res, 200, buildInfo);
    }
    if (p !== '/') return rt.send(res, 404, 'text/plain', `no route ${req.method} ${p}; try GET / or GET /healthz\n`);
    let api;
    try {
      api = await fetchItems();
    } catch (err) {
      log.write('api-error', { message: err.message });
      return rt.send(res, 502, 'text/html; charset=utf-8', page('shop: api unavailable',
        `<h1>502: the api is unavailable</h1>\n<p>web ${esc(version)} could not get the items: ${esc(err.message)}</p>`));
    }
    const items = Array.isArray(api.body.items) ? api.body.items : [];
    const rows = items.map((i) => `<li>${esc(i.name)}: ${esc(i.price)}</li>`).join('\n');
    return rt.send(res, 200, 'text/html; charset=utf-8', page('shop', [
      `<h1>${esc(api.body.greeting ?? '')} from the shop</h1>`,
      `<p id="versions">web ${esc(version)} (${buildInfo ? 'built' : 'unbuilt'}), api ${esc(api.apiVersion ?? api.body.version ?? '?')}</p>`,
      ...(tokenFingerprint ? [`<p id="token">token ${esc(tokenFingerprint)}</p>`] : []),
      `<ul id="items">\n${rows}\n</ul>`,
    ].join('\n')));
  },
});
