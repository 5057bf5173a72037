'use strict';
// The api's orders, kept in the `orders` store. The app knows only its --db flag: a path that
// Kiln rendered from ${data.orders.url}. On SQLite it is the database file itself; on PostgreSQL
// it is the secret file holding the URL (the flag never carries the password). The file's first
// bytes tell which.
//
// The drivers are maintained npm packages, installed by the build (`npm ci --omit=dev`):
// - PostgreSQL through `pg`, pure JavaScript: it runs on this host's Node 20 (process runtime)
//   and on the Node 18 of the Debian bookworm OS image (podman) alike.
// - SQLite through `better-sqlite3`, a native module: npm builds it for the Node that ran the
//   build, which is this host's (kiln.yaml: `build-in: host`), so the process runtime loads it.
//   It is an optional dependency and is required only when the store is SQLite: a container
//   whose store is PostgreSQL never loads it (it could not: better-sqlite3 12 needs Node 20, and
//   a native module loads only on the Node ABI it was built for).
const fs = require('node:fs');

/** Checks an order from a request body; returns the values to store or throws a message for a 400. */
function validateOrder(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('send a JSON object: {"item": "mug", "qty": 2, "price": 12.5}');
  const { item, qty, price } = body;
  if (typeof item !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,79}$/.test(item)) throw new Error('item must be 1-80 letters, digits, spaces, ".", "_" or "-"');
  if (!Number.isInteger(qty) || qty < 1 || qty > 10000) throw new Error('qty must be an integer from 1 to 10000');
  if (typeof price !== 'number' || !Number.isFinite(price) || price < 0 || price > 1e6 || Math.round(price * 100) !== Number((price * 100).toFixed(6))) {
    throw new Error('price must be a number from 0 to 1000000 with at most 2 decimals');
  }
  return { item, qty, priceCents: Math.round(price * 100), createdAt: new Date().toISOString() };
}

const ORDER_COLUMNS = 'id, item, qty, price_cents, created_at';
const toOrder = (r) => ({
  id: Number(r.id),
  item: r.item,
  qty: Number(r.qty),
  price_cents: r.price_cents === null || r.price_cents === undefined ? null : Number(r.price_cents),
  created_at: r.created_at,
});

const firstLine = (s) => String(s).split('\n')[0];

/** better-sqlite3's Database class, or an error that says why this build or this Node has none. */
function sqliteDriver() {
  try {
    return require('better-sqlite3');
  } catch (e) {
    if (e && e.code === 'MODULE_NOT_FOUND') {
      throw new Error('the SQLite driver better-sqlite3 is not in this build: `npm ci` could not install it (an optional dependency; see the output of `kiln app tag api`)');
    }
    throw e;
  }
}

/** Opens the database file; a native module built for another Node fails here, with the reason said. */
function openSqlite(file) {
  const Database = sqliteDriver();
  try {
    // timeout: wait up to 5 s for another connection's lock (a replica, a migration) instead of
    // failing with SQLITE_BUSY. fileMustExist: Kiln creates and migrates the store, never the app.
    return new Database(file, { fileMustExist: true, timeout: 5000 });
  } catch (e) {
    if (e && (e.code === 'ERR_DLOPEN_FAILED' || /NODE_MODULE_VERSION|invalid ELF|cannot open shared object/.test(String(e.message)))) {
      const abi = /NODE_MODULE_VERSION (\d+)\. This version of Node\.js requires NODE_MODULE_VERSION (\d+)/.exec(String(e.message).replace(/\s+/g, ' '));
      const why = abi ? `built for NODE_MODULE_VERSION ${abi[1]}, this Node requires ${abi[2]}` : firstLine(e.message);
      throw new Error(
        `the SQLite driver better-sqlite3 does not load on Node ${process.versions.node} (${why}): ` +
          'it is a native module built for the Node that ran the build (this host\'s); on podman, whose OS image runs Debian\'s Node 18, keep the orders in PostgreSQL',
      );
    }
    throw e;
  }
}

function sqliteStore(file) {
  let db = null;
  let ino = null;
  let stmts = null;
  // One connection per server, kept open; reopened if the file was replaced (a new inode).
  const conn = () => {
    const now = fs.statSync(file).ino;
    if (db && ino !== now) {
      db.close();
      db = null;
    }
    if (!db) {
      db = openSqlite(file);
      ino = now;
    }
    return db;
  };
  // Prepared once per connection; a failure (no table yet) is retried on the next request.
  const statements = () => {
    const c = conn();
    if (!stmts || stmts.db !== c) {
      stmts = {
        db: c,
        list: c.prepare(`SELECT ${ORDER_COLUMNS} FROM orders ORDER BY id`),
        // The id is the table's rowid (INTEGER PRIMARY KEY): SQLite picks the next one.
        add: c.prepare(`INSERT INTO orders (item, qty, price_cents, created_at) VALUES (@item, @qty, @priceCents, @createdAt) RETURNING ${ORDER_COLUMNS}`),
      };
    }
    return stmts;
  };
  return {
    engine: 'sqlite',
    /** Opens the file: a driver that is missing or built for another Node fails the health check. */
    check() {
      conn();
    },
    async list() {
      return statements().list.all().map(toOrder);
    },
    async add(o) {
      return toOrder(statements().add.get({ item: o.item, qty: o.qty, priceCents: o.priceCents, createdAt: o.createdAt }));
    },
    close() {
      if (db) db.close();
      db = null;
    },
  };
}

function postgresStore(url) {
  const { Pool } = require('pg');
  // A small pool per server; a connection that breaks while idle is dropped by the pool (the
  // handler keeps the error from ending the process) and the next query opens a new one.
  const pool = new Pool({ connectionString: url.trim(), max: 4, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 5_000 });
  pool.on('error', () => undefined);
  return {
    engine: 'postgres',
    check() {},
    async list() {
      return (await pool.query(`SELECT ${ORDER_COLUMNS} FROM orders ORDER BY id`)).rows.map(toOrder);
    },
    async add(o) {
      // The changelog's portable `id INTEGER PRIMARY KEY` has no sequence on PostgreSQL: take the
      // next id, and retry if another replica took it first (unique violation, 23505).
      for (let attempt = 0; ; attempt++) {
        try {
          const r = await pool.query(
            `INSERT INTO orders (id, item, qty, price_cents, created_at) SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4 FROM orders RETURNING ${ORDER_COLUMNS}`,
            [o.item, o.qty, o.priceCents, o.createdAt],
          );
          return toOrder(r.rows[0]);
        } catch (e) {
          if (!(e && e.code === '23505') || attempt >= 20) throw e;
        }
      }
    },
    close() {
      void pool.end().catch(() => undefined);
    },
  };
}

/** The store behind --db, decided by the file's first bytes; throws if the file is not there. */
function openOrders(dbFlag) {
  const head = Buffer.alloc(16);
  const fd = fs.openSync(dbFlag, 'r');
  let n;
  try {
    n = fs.readSync(fd, head, 0, 16, 0);
  } finally {
    fs.closeSync(fd);
  }
  const text = head.subarray(0, n).toString('latin1');
  if (n === 0 || text.startsWith('SQLite format 3')) return sqliteStore(dbFlag);
  if (/^\s*postgres(ql)?:\/\//.test(text)) return postgresStore(fs.readFileSync(dbFlag, 'utf8'));
  throw new Error(`--db ${dbFlag} is neither a SQLite database nor a file holding a postgres:// URL`);
}

module.exports = { openOrders, validateOrder };
