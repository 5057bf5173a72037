'use strict';
// The small runtime every shop app shares: flags, the JSON-lines log, the version, and an HTTP
// server that stops gracefully. Each app is packed on its own (Kiln packs only the app's
// directory), so this file is copied, not imported: apps/api/runtime.js and
// apps/web/runtime.js are kept identical on purpose (a test checks it).
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');

class UsageError extends Error {}

/**
 * Parses `--name=value` (what Kiln passes) or `--name value` against `spec`, a map of
 * flag name -> { required?, default?, help }. Unknown, repeated or valueless flags are errors:
 * an app configured only by flags must not silently ignore a typo.
 */
function parseFlags(argv, spec) {
  const values = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') throw new UsageError('');
    if (!arg.startsWith('--') || arg.length < 3) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    let name;
    let value;
    if (eq >= 0) {
      name = arg.slice(2, eq);
      value = arg.slice(eq + 1);
    } else {
      name = arg.slice(2);
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`flag --${name} needs a value (--${name}=VALUE)`);
      value = next;
      i++;
    }
    if (!Object.prototype.hasOwnProperty.call(spec, name)) {
      throw new UsageError(`unknown flag --${name}; known flags: ${Object.keys(spec).map((n) => '--' + n).join(', ')}`);
    }
    if (Object.prototype.hasOwnProperty.call(values, name)) throw new UsageError(`flag --${name} is given twice`);
    values[name] = value;
  }
  for (const [name, s] of Object.entries(spec)) {
    if (values[name] === undefined && s.default !== undefined) values[name] = s.default;
  }
  return values;
}

function usageText(program, spec) {
  const lines = Object.entries(spec).map(([name, s]) => `  --${name.padEnd(10)} ${s.help}${s.default !== undefined ? ` (default: ${s.default})` : ''}`);
  return `usage: ${program} [flags]\n${lines.join('\n')}`;
}

/** Parses flags or exits: 2 with the problem and the usage on stderr, 0 for --help. */
function flagsOrExit(program, argv, spec) {
  try {
    return parseFlags(argv, spec);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.message === '') {
      process.stdout.write(usageText(program, spec) + '\n');
      process.exit(0);
    }
    process.stderr.write(`${program}: ${err.message}\n${usageText(program, spec)}\n`);
    process.exit(2);
  }
}

/** Exits with status 2 and a clear message; for flag values that parse but make no sense. */
function badFlag(program, message) {
  process.stderr.write(`${program}: ${message}\n`);
  process.exit(2);
}

function requireFlag(program, flags, name) {
  const v = flags[name];
  if (v === undefined || v === '') badFlag(program, `missing required flag --${name}`);
  return v;
}

function parsePort(program, value) {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) badFlag(program, `--port must be a number from 0 to 65535, got "${value}"`);
  return n;
}

/** The app's own package.json, read once at start: its version is what X-App-Version says. */
function readPackage(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
}

/**
 * Appends one JSON object per line to `file`. SIGHUP reopens the file, so a log rotated
 * by renaming is followed by a fresh file instead of writes to the renamed one.
 */
function openLog(program, file, base) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let stream;
  const open = () => {
    stream = fs.createWriteStream(file, { flags: 'a' });
    stream.on('error', (err) => {
      process.stderr.write(`${program}: cannot write log file ${file}: ${err.message}\n`);
      process.exit(1);
    });
  };
  open();
  process.on('SIGHUP', () => {
    const old = stream;
    open();
    old.end();
  });
  return {
    write(event, fields) {
      stream.write(JSON.stringify({ time: new Date().toISOString(), ...base, event, ...fields }) + '\n');
    },
    close(done) {
      stream.end(done);
    },
  };
}

/**
 * Serves `handler` on host:port. Every response carries X-App-Version; every request is
 * logged when it ends. SIGTERM (or SIGINT) stops gracefully: no new connections, idle
 * keep-alive connections closed, in-flight requests answered with `Connection: close`, then
 * exit 0. A request still running after `graceMs` is cut so the process always ends.
 */
function serve({ program, version, host, port, log, handler, graceMs = 20000 }) {
  let stopping = false;
  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    res.setHeader('X-App-Version', version);
    if (stopping) res.setHeader('Connection', 'close');
    res.on('close', () => {
      log.write('request', {
        method: req.method,
        path: req.url,
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
        ...(res.writableFinished ? {} : { aborted: true }),
      });
    });
    Promise.resolve()
      .then(() => handler(req, res, { stopping }))
      .catch((err) => {
        log.write('error', { path: req.url, message: String(err && err.stack ? err.stack : err) });
        if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `internal error: ${err && err.message}\n`);
        else res.destroy();
      });
  });
  // Longer than any proxy's idle timeout for its pooled connections, so the proxy (not this
  // server) closes an idle keep-alive connection and never reuses one this side just closed.
  server.keepAliveTimeout = 65000;
  server.headersTimeout = 66000;

  server.on('error', (err) => {
    process.stderr.write(`${program}: cannot listen on ${host}:${port}: ${err.message}\n`);
    log.write('error', { message: `listen failed: ${err.message}` });
    log.close(() => process.exit(1));
  });
  server.listen(port, host, () => {
    const actual = server.address().port;
    log.write('listening', { host, port: actual });
    process.stdout.write(`${program} ${version} listening on http://${host}:${actual} (pid ${process.pid})\n`);
  });

  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    log.write('stopping', { signal });
    server.close(() => {
      log.write('stopped', { signal });
      log.close(() => process.exit(0));
    });
    server.closeIdleConnections();
    const force = setTimeout(() => {
      log.write('stop-timeout', { graceMs });
      server.closeAllConnections();
    }, graceMs);
    force.unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return server;
}

function send(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res, status, value) {
  send(res, status, 'application/json', JSON.stringify(value) + '\n');
}

module.exports = { parseFlags, flagsOrExit, badFlag, requireFlag, parsePort, readPackage, openLog, serve, send, sendJson, UsageError };
