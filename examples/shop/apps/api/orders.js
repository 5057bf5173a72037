'use strict';
// The api's orders, kept in the `orders` store. The app knows only its --db flag: a path that
// Kiln rendered from ${data.orders.url}. On SQLite it is the database file itself; on PostgreSQL
// it is the secret file holding the URL (the flag never carries the password). The file's first
// bytes tell which. SQLite is reached through Debian's `sqlite3` shell (one short-lived process
// per request, argument arrays, no shell) and PostgreSQL through pg-client.js: no npm packages.
const fs = require('node:fs');
const { execFile } = require('node:child_process');
const pg = require('./pg-client.js');

/** Checks an order from a request body; returns the values to store or throws a message for a 400. */
function validateOrder(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error('send a JSON object: {"item": "mug", "qty": 2, "price": 12.5}');
  const { item, qty, price } = body;
  // Strict on purpose: the SQLite path writes these as SQL literals (quoted, and only these characters).
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

/** SQLite through the sqlite3 shell: `sql` on stdin, rows back as JSON. */
function sqlite(file, sql) {
  return new Promise((resolve, reject) => {
    // .timeout: wait for a concurrent writer (another replica) instead of failing with "locked".
    const child = execFile('sqlite3', ['-bail', '-json', '-cmd', '.timeout 5000', file], { timeout: 15000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`sqlite3 ${file}: ${(stderr || err.message).trim()}`));
      resolve(stdout.trim() ? JSON.parse(stdout) : []);
    });
    child.stdin.end(sql);
  });
}
const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

function sqliteStore(file) {
  return {
    engine: 'sqlite',
    async list() {
      return (await sqlite(file, `SELECT ${ORDER_COLUMNS} FROM orders ORDER BY id;`)).map(toOrder);
    },
    async add(o) {
      // The id is the table's rowid (INTEGER PRIMARY KEY): SQLite picks the next one.
      const rows = await sqlite(file, `INSERT INTO orders (item, qty, price_cents, created_at) VALUES (${lit(o.item)}, ${Number(o.qty)}, ${Number(o.priceCents)}, ${lit(o.createdAt)}) RETURNING ${ORDER_COLUMNS};`);
      return toOrder(rows[0]);
    },
    close() {},
  };
}

function postgresStore(url) {
  let conn = null;
  const client = () => {
    if (!conn) {
      conn = pg.connect(pg.parseUrl(url));
      // A broken connection is dropped, so the next request reconnects.
      conn.catch(() => { conn = null; });
    }
    return conn;
  };
  const query = async (sql, params) => {
    const c = await client();
    try {
      return await c.query(sql, params);
    } catch (e) {
      if (!(e instanceof pg.PgError)) conn = null;
      throw e;
    }
  };
  return {
    engine: 'postgres',
    async list() {
      return (await query(`SELECT ${ORDER_COLUMNS} FROM orders ORDER BY id`, [])).map(toOrder);
    },
    async add(o) {
      // The changelog's portable `id INTEGER PRIMARY KEY` has no sequence on PostgreSQL: take the
      // next id, and retry if another replica took it first (unique violation, 23505).
      for (let attempt = 0; ; attempt++) {
        try {
          const rows = await query(
            `INSERT INTO orders (id, item, qty, price_cents, created_at) SELECT COALESCE(MAX(id), 0) + 1, $1, $2, $3, $4 FROM orders RETURNING ${ORDER_COLUMNS}`,
            [o.item, o.qty, o.priceCents, o.createdAt],
          );
          return toOrder(rows[0]);
        } catch (e) {
          if (!(e instanceof pg.PgError && e.code === '23505') || attempt >= 20) throw e;
        }
      }
    },
    close() {
      if (conn) conn.then((c) => c.close(), () => undefined);
      conn = null;
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
