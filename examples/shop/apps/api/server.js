'use strict';
// Shop api: `GET /items` and `GET /healthz` over HTTP, or with --mode=worker a background worker.
// All configuration comes from flags (Kiln renders them per environment); nothing is read
// from environment variables.
const rt = require('./runtime.js');

const PROGRAM = 'api';
const FLAGS = {
  mode: { default: 'http', help: 'http (serve requests) or worker (background heartbeat)' },
  port: { help: 'port to listen on (http mode; Kiln passes it)' },
  host: { default: '127.0.0.1', help: 'address to listen on' },
  'log-file': { help: 'file the app appends its JSON-lines log to (required)' },
  greeting: { default: 'hello', help: 'greeting returned by GET /items' },
  db: { help: 'the orders store: a SQLite file (Kiln renders it from ${data.orders.url}); optional' },
};

const ITEMS = [
  { id: 1, name: 'kiln-fired mug', price: 12 },
  { id: 2, name: 'glazed bowl', price: 18 },
  { id: 3, name: 'stoneware plate', price: 15 },
];

const flags = rt.flagsOrExit(`node server.js (${PROGRAM})`, process.argv.slice(2), FLAGS);
const pkg = rt.readPackage(__dirname);
const version = String(pkg.version);
// A build whose package.json says "unhealthy": true fails its health check: it is how a test
// makes a bad build without touching Kiln.
const unhealthy = pkg.unhealthy === true;
const logFile = rt.requireFlag(PROGRAM, flags, 'log-file');

if (flags.mode === 'worker') {
  require('./worker.js').runWorker({ program: `${PROGRAM}-worker`, version, logFile, greeting: flags.greeting });
} else if (flags.mode === 'http') {
  const port = rt.parsePort(PROGRAM, rt.requireFlag(PROGRAM, flags, 'port'));
  const log = rt.openLog(PROGRAM, logFile, { service: 'api', mode: 'http', version, pid: process.pid });
  log.write('start', { port, greeting: flags.greeting, unhealthy, db: flags.db ?? null });
  // A server whose database is not there is not healthy: Kiln migrates stores before servers start.
  const dbMissing = () => flags.db !== undefined && !require('node:fs').existsSync(flags.db);
  rt.serve({
    program: PROGRAM,
    version,
    host: flags.host,
    port,
    log,
    handler(req, res, state) {
      const path = new URL(req.url, 'http://x').pathname;
      if (path === '/healthz') {
        if (unhealthy) return rt.send(res, 503, 'text/plain', 'unhealthy: this build is marked "unhealthy": true in package.json\n');
        if (dbMissing()) return rt.send(res, 503, 'text/plain', `unhealthy: the orders store ${flags.db} does not exist\n`);
        return rt.send(res, 200, 'text/plain', 'ok\n');
      }
      if (path === '/items') {
        if (req.method !== 'GET' && req.method !== 'HEAD') return rt.sendJson(res, 405, { error: 'only GET /items' });
        return rt.sendJson(res, 200, { service: 'api', version, greeting: flags.greeting, items: ITEMS });
      }
      return rt.sendJson(res, 404, { error: `no route ${req.method} ${path}; try GET /items or GET /healthz` });
    },
  });
} else {
  rt.badFlag(PROGRAM, `--mode must be http or worker, got "${flags.mode}"`);
}
