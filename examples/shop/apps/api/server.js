'use strict';
// Shop api: `GET /items`, `GET`/`POST /orders` (kept in the orders store named by --db) and
// `GET /healthz` over HTTP, or with --mode=worker a background worker.
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
  db: { help: 'the orders store (Kiln renders it from ${data.orders.url}): a SQLite file, or a file holding a postgres:// URL; optional' },
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
  // Opened on first use: a store that appears after start (migrated late) is still picked up.
  let orders = null;
  const ordersStore = () => {
    if (flags.db === undefined) return null;
    if (!orders) orders = require('./orders.js').openOrders(flags.db);
    return orders;
  };
  process.on('exit', () => orders && orders.close());
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
        const broken = storeProblem(ordersStore);
        if (broken) return rt.send(res, 503, 'text/plain', `unhealthy: the orders store cannot be opened: ${broken}\n`);
        return rt.send(res, 200, 'text/plain', 'ok\n');
      }
      if (path === '/items') {
        if (req.method !== 'GET' && req.method !== 'HEAD') return rt.sendJson(res, 405, { error: 'only GET /items' });
        return rt.sendJson(res, 200, { service: 'api', version, greeting: flags.greeting, items: ITEMS });
      }
      if (path === '/orders') return handleOrders(req, res, ordersStore, log);
      return rt.sendJson(res, 404, { error: `no route ${req.method} ${path}; try GET /items, GET or POST /orders, GET /healthz` });
    },
  });
} else {
  rt.badFlag(PROGRAM, `--mode must be http or worker, got "${flags.mode}"`);
}

/** Why the store behind --db cannot be opened (its driver missing or built for another Node), or null. */
function storeProblem(ordersStore) {
  try {
    const store = ordersStore();
    if (store) store.check();
    return null;
  } catch (e) {
    return e.message;
  }
}

/** GET /orders lists the orders; POST /orders with {"item", "qty", "price"} records one (201). */
async function handleOrders(req, res, ordersStore, log) {
  const store = ordersStore();
  if (!store) return rt.sendJson(res, 503, { error: 'no orders store: start the api with --db (Kiln renders it from ${data.orders.url})' });
  if (req.method === 'GET' || req.method === 'HEAD') return rt.sendJson(res, 200, { engine: store.engine, orders: await store.list() });
  if (req.method !== 'POST') return rt.sendJson(res, 405, { error: 'only GET or POST /orders' });
  let body;
  try {
    body = JSON.parse(await readBody(req, 16 * 1024));
  } catch (e) {
    return rt.sendJson(res, 400, { error: `the body must be JSON: ${e.message}` });
  }
  let order;
  try {
    order = require('./orders.js').validateOrder(body);
  } catch (e) {
    return rt.sendJson(res, 400, { error: e.message });
  }
  const saved = await store.add(order);
  log.write('order', { id: saved.id, engine: store.engine });
  return rt.sendJson(res, 201, saved);
}

function readBody(req, limit) {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks = [];
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) return reject(new Error(`larger than ${limit} bytes`));
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
