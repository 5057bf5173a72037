'use strict';
// A small PostgreSQL client speaking the frontend/backend wire protocol (version 3) directly, so
// the api stays free of npm dependencies (it is packed alone and runs on Debian's nodejs 18).
// It does what the shop needs and no more: connect with SCRAM-SHA-256, md5 or cleartext
// password authentication, then run one query at a time with the extended protocol, parameters
// sent as text ($1, $2, ...) — values never become part of the SQL text.
const net = require('node:net');
const crypto = require('node:crypto');

class PgError extends Error {
  constructor(fields) {
    super(fields.M || 'PostgreSQL error');
    this.code = fields.C;
    this.severity = fields.S;
  }
}

/** postgres://user:password@host:port/database, percent-decoded; the password never goes into a message. */
function parseUrl(text) {
  const u = new URL(text.trim());
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error(`not a postgres:// URL (scheme ${u.protocol})`);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username),
  };
}

const cstr = (s) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);
const i16 = (n) => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
const i32 = (n) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
/** One frontend message: type byte, length (itself included), body. */
const msg = (type, ...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(type, 'ascii'), i32(body.length + 4), body]);
};

const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();
const sha256 = (data) => crypto.createHash('sha256').update(data).digest();
const md5hex = (data) => crypto.createHash('md5').update(data).digest('hex');

/** The SCRAM-SHA-256 exchange (RFC 5802/7677) as a small state machine. */
function scram(password) {
  const nonce = crypto.randomBytes(18).toString('base64');
  // PostgreSQL takes the user from the startup message; the SCRAM user name is left empty.
  const clientFirstBare = `n=,r=${nonce}`;
  let expectedServerSig;
  return {
    first: Buffer.from(`n,,${clientFirstBare}`),
    final(serverFirst) {
      const attrs = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
      if (!attrs.r || !attrs.r.startsWith(nonce) || !attrs.s || !attrs.i) throw new Error('bad SCRAM server-first message');
      const salted = crypto.pbkdf2Sync(password.normalize('NFKC'), Buffer.from(attrs.s, 'base64'), Number(attrs.i), 32, 'sha256');
      const clientKey = hmac(salted, 'Client Key');
      const withoutProof = `c=biws,r=${attrs.r}`;
      const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
      const sig = hmac(sha256(clientKey), authMessage);
      const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]));
      expectedServerSig = hmac(hmac(salted, 'Server Key'), authMessage).toString('base64');
      return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
    },
    verify(serverFinal) {
      // The server proves it knows the password too: a man in the middle cannot fake success.
      if (serverFinal.split(',').find((a) => a.startsWith('v='))?.slice(2) !== expectedServerSig) throw new Error('SCRAM server signature mismatch');
    },
  };
}

/** Connects and authenticates; resolves to a client with query(sql, params) and close(). */
function connect(opts) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: opts.host, port: opts.port });
    let buf = Buffer.alloc(0);
    let ready = false;
    let sasl;
    let pending = null; // the running query: { rows, fields, resolve, reject, error }
    const queue = [];
    let closed = null;

    const fail = (err) => {
      closed = closed || err;
      if (!ready) reject(err);
      if (pending) pending.reject(err);
      pending = null;
      for (const q of queue.splice(0)) q.reject(err);
      sock.destroy();
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('connection to PostgreSQL closed')));
    sock.on('connect', () => {
      const params = Buffer.concat([cstr('user'), cstr(opts.user), cstr('database'), cstr(opts.database), cstr('client_encoding'), cstr('UTF8'), Buffer.alloc(1)]);
      const body = Buffer.concat([i32(196608), params]);
      sock.write(Buffer.concat([i32(body.length + 4), body]));
    });

    const auth = (body) => {
      const code = body.readInt32BE(0);
      if (code === 0) return; // AuthenticationOk
      if (code === 3) return sock.write(msg('p', cstr(opts.password)));
      // md5: md5(md5(password + user) as hex + the 4-byte salt), as bytes (the salt is not text).
      if (code === 5) return sock.write(msg('p', cstr('md5' + md5hex(Buffer.concat([Buffer.from(md5hex(opts.password + opts.user)), body.subarray(4, 8)])))));
      if (code === 10) {
        const mechs = body.subarray(4).toString('utf8').split('\0');
        if (!mechs.includes('SCRAM-SHA-256')) throw new Error(`no supported SASL mechanism in ${mechs.join(' ')}`);
        sasl = scram(opts.password);
        return sock.write(msg('p', cstr('SCRAM-SHA-256'), i32(sasl.first.length), sasl.first));
      }
      if (code === 11) return sock.write(msg('p', sasl.final(body.subarray(4).toString('utf8'))));
      if (code === 12) return sasl.verify(body.subarray(4).toString('utf8'));
      throw new Error(`unsupported authentication method (code ${code})`);
    };

    const next = () => {
      if (pending || !queue.length || closed) return;
      pending = queue.shift();
      const values = pending.params.map((v) => (v === null || v === undefined ? i32(-1) : (() => { const b = Buffer.from(String(v), 'utf8'); return Buffer.concat([i32(b.length), b]); })()));
      sock.write(Buffer.concat([
        msg('P', cstr(''), cstr(pending.sql), i16(0)),
        msg('B', cstr(''), cstr(''), i16(0), i16(values.length), ...values, i16(0)),
        msg('D', Buffer.from('P'), cstr('')),
        msg('E', cstr(''), i32(0)),
        msg('S'),
      ]));
    };

    const client = {
      /** Rows as objects of text values (null for SQL NULL); the columns by name. */
      query(sql, params = []) {
        if (closed) return Promise.reject(closed);
        return new Promise((res, rej) => {
          queue.push({ sql, params, rows: [], fields: [], error: null, resolve: res, reject: rej });
          next();
        });
      },
      close() {
        if (!closed) sock.end(msg('X'));
        closed = closed || new Error('client closed');
      },
    };

    const handle = (type, body) => {
      switch (type) {
        case 'R': return auth(body);
        case 'E': {
          const fields = {};
          for (let i = 0; i < body.length && body[i] !== 0;) {
            const end = body.indexOf(0, i + 1);
            fields[String.fromCharCode(body[i])] = body.subarray(i + 1, end).toString('utf8');
            i = end + 1;
          }
          const err = new PgError(fields);
          if (!ready) throw err;
          if (pending) pending.error = err;
          return;
        }
        case 'Z':
          if (!ready) { ready = true; resolve(client); return; }
          if (pending) {
            const q = pending;
            pending = null;
            if (q.error) q.reject(q.error); else q.resolve(q.rows);
          }
          return next();
        case 'T': {
          const n = body.readInt16BE(0);
          let at = 2;
          pending.fields = [];
          for (let f = 0; f < n; f++) {
            const end = body.indexOf(0, at);
            pending.fields.push(body.subarray(at, end).toString('utf8'));
            at = end + 1 + 18; // table oid, column, type oid, size, modifier, format
          }
          return;
        }
        case 'D': {
          const n = body.readInt16BE(0);
          let at = 2;
          const row = {};
          for (let f = 0; f < n; f++) {
            const len = body.readInt32BE(at);
            at += 4;
            row[pending.fields[f]] = len < 0 ? null : body.subarray(at, at + len).toString('utf8');
            if (len > 0) at += len;
          }
          pending.rows.push(row);
          return;
        }
        default: return; // ParameterStatus, BackendKeyData, notices, ParseComplete, BindComplete, NoData, CommandComplete
      }
    };

    sock.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      try {
        while (buf.length >= 5) {
          const len = buf.readInt32BE(1);
          if (buf.length < len + 1) break;
          const type = String.fromCharCode(buf[0]);
          const body = buf.subarray(5, len + 1);
          buf = buf.subarray(len + 1);
          handle(type, body);
        }
      } catch (err) {
        fail(err);
      }
    });
  });
}

module.exports = { connect, parseUrl, PgError };
