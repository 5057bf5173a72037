// A hostile app and the central logs (issue 11, defects 2, 3, 4, 6 and 14's logs part), through the real CLI, control
// plane, proxy and a process-runtime server that does the hostile things itself, on request:
// replaces its --log-file with a symlink to the API token, with a FIFO, and rotates its log by
// rename three times while the control plane is down. What a user sees is checked: `kiln logs`
// never shows the token, says what it skipped, DNS and the API answer while the FIFO sits there,
// and every line written arrives exactly once (the figure: lines lost, target 0). Then several
// servers flood their logs through repeated deploys: the control plane, DNS and every line survive.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import Database from 'better-sqlite3';
import { makeProject, type ServerProc, type TestProject } from './lib/project.js';
import { probeDns, probeStatusApi } from './lib/liveness.js';
import { sleep, waitFor } from './lib/wait.js';

/** The hostile app: writes numbered lines to its --log-file, and swaps that file on request. */
const HOSTILE_SERVER = String.raw`
const fs = require('fs'), http = require('http'), cp = require('child_process');
const flags = Object.fromEntries(process.argv.slice(2).filter((a) => a.startsWith('--')).map((a) => { const i = a.indexOf('='); return [a.slice(2, i), a.slice(i + 1)]; }));
const log = flags['log-file'];
http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x'), q = u.searchParams;
  try {
    if (u.pathname === '/healthz') return res.end('ok');
    if (u.pathname === '/write') {
      const from = Number(q.get('from')), n = Number(q.get('n')), out = [];
      for (let i = from; i < from + n; i++) out.push('seq ' + i + '\n');
      fs.appendFileSync(log, out.join(''));
      return res.end('ok');
    }
    if (u.pathname === '/escapes') { fs.appendFileSync(log, 'tty-probe \x1b]0;pwned\x07\x1b[2J\x1b[31m red \x9b1m end\n'); return res.end('ok'); }
    if (u.pathname === '/rotate') {
      for (let k = 9; k >= 1; k--) { try { fs.renameSync(log + '.' + k, log + '.' + (k + 1)); } catch {} }
      fs.renameSync(log, log + '.1');
      return res.end('ok');
    }
    if (u.pathname === '/symlink') { fs.rmSync(log, { force: true }); fs.symlinkSync(q.get('target'), log); return res.end('ok'); }
    if (u.pathname === '/fifo') { fs.rmSync(log, { force: true }); cp.execFileSync('mkfifo', [log]); return res.end('ok'); }
    if (u.pathname === '/plain') { fs.rmSync(log, { force: true }); fs.writeFileSync(log, ''); return res.end('ok'); }
  } catch (e) { res.statusCode = 500; return res.end(String(e)); }
  res.statusCode = 404;
  res.end();
}).listen(Number(flags.port), '127.0.0.1');
`;

const CLUSTER = 'hostile-http-dev';

describe('logs from a hostile app', () => {
  let p: TestProject;
  let server: ServerProc;
  let token: string;
  let next = 0;

  const call = (urlPath: string): Promise<string> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: p.proxyPort, path: urlPath, headers: { host: `${CLUSTER}.hostile.test` }, agent: false, timeout: 10_000 }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${urlPath}: ${res.statusCode} ${body}`))));
        })
        .on('error', reject);
    });
  /** Lines seq <next> … seq <next+n-1> written by the app to its log file. */
  const write = async (n: number): Promise<void> => {
    await call(`/write?from=${next}&n=${n}`);
    next += n;
  };
  const logs = async (...args: string[]): Promise<Array<{ text: string; stream: string }>> =>
    (await p.kiln(['logs', CLUSTER, '--json', '-n', '1000000', ...args])).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { text: string; stream: string });
  const seqs = async (): Promise<number[]> => (await logs('--stream', 'log', '--grep', 'seq ')).map((l) => Number(l.text.slice(4)));
  const allArrived = (): Promise<number[] | false> => seqs().then((s) => (s.length >= next ? s : false));

  before(async () => {
    p = await makeProject();
    // Servers run as an unprivileged user when the tests run as root: let it pass to its files.
    fs.chmodSync(p.dir, 0o711);
    fs.rmSync(path.join(p.dir, 'apps'), { recursive: true, force: true });
    fs.mkdirSync(path.join(p.dir, 'apps', 'hostile'), { recursive: true });
    fs.writeFileSync(path.join(p.dir, 'apps', 'hostile', 'server.js'), HOSTILE_SERVER);
    fs.writeFileSync(
      path.join(p.dir, 'kiln.yaml'),
      [
        'project: hostile',
        'domain: hostile.test',
        `proxy: { port: ${p.proxyPort} }`,
        `dns: { port: ${p.dnsPort} }`,
        'services:',
        '  hostile:',
        '    app: { path: apps/hostile, run: [node, server.js] }',
        '    roles: { http: { replicas: 1, port: http, health: /healthz } }',
        '    flags: { log-file: "${log.file}" }',
        'environments:',
        '  dev: { runtime: process }',
        '',
      ].join('\n'),
    );
    await p.kiln(['init']);
    await p.kiln(['app', 'tag', 'hostile', '1.0.0']);
    await p.kiln(['release', 'create']);
    server = await p.startServer();
    await p.kiln(['deploy', 'r1', '--env', 'dev']);
    token = fs.readFileSync(path.join(p.dir, '.kiln', 'run', 'token'), 'utf8').trim();
    assert.ok(token.length >= 16, 'the API token is there to be stolen');
    await write(100);
    await waitFor(allArrived, { timeoutMs: 20_000, what: 'the first 100 lines in kiln logs' });
  });
  after(async () => {
    await p?.cleanup();
  });

  test('defect 2: a log file replaced by a symlink to the API token: the token never reaches kiln logs, a kiln line says why', { timeout: 120_000 }, async () => {
    await call(`/symlink?target=${encodeURIComponent(path.join(p.dir, '.kiln', 'run', 'token'))}`);
    // Until the tailer has looked: the token in the logs, or a line saying the link was skipped.
    const all = await waitFor(
      async () => {
        const lines = await logs();
        return lines.some((l) => l.text.includes(token) || (l.stream === 'kiln' && /symbolic link/.test(l.text))) ? lines : false;
      },
      { timeoutMs: 20_000, what: 'the tailer to look at the link' },
    );
    assert.ok(!all.some((l) => l.text.includes(token)), 'the token is in kiln logs');
    const said = all.find((l) => l.stream === 'kiln' && /symbolic link/.test(l.text));
    assert.ok(said, 'a kiln line says the link was skipped');
    assert.match(said.text, new RegExp(`${CLUSTER}-v\\d+-1\\.log`), 'it names the file');
    await call('/plain');
    await write(50);
    await waitFor(allArrived, { timeoutMs: 20_000, what: 'lines written after the link was replaced by a plain file' });
    assert.ok(!(await logs()).some((l) => l.text.includes(token)));
  });

  test('defect 3: a FIFO in place of the log file: DNS and the API still answer, a kiln line says it was skipped', { timeout: 120_000 }, async (t) => {
    await call('/fifo');
    // The FIFO stays there (no writer, no reader) while the tailer polls (every 250 ms) and the
    // directory watch fires: a blocking open would stop the control plane's event loop now.
    const dns = probeDns(p.dnsPort, `${CLUSTER}.hostile.test`);
    const api = probeStatusApi(p.dir, 'dev');
    await sleep(3000);
    const [d, a] = await Promise.all([dns.stop(), api.stop()]);
    t.diagnostic(`with a FIFO in place: DNS ${d.answered}/${d.sent} answered, longest silence ${d.longestSilenceMs.toFixed(0)} ms; API ${a.calls} calls, ${a.failed} failed`);
    assert.ok(d.sent > 10 && d.answered >= d.sent - 1, `DNS answered ${d.answered} of ${d.sent}`);
    assert.ok(a.calls > 5 && a.failed === 0, `API: ${a.calls} calls, ${a.failed} failed`);
    await waitFor(async () => (await logs('--stream', 'kiln')).some((l) => /FIFO/.test(l.text) && l.text.includes(`${CLUSTER}-v`)), { timeoutMs: 20_000, what: 'a kiln line about the FIFO' });
    await call('/plain');
    await write(50);
    await waitFor(allArrived, { timeoutMs: 20_000, what: 'lines written after the FIFO was replaced by a plain file' });
  });

  test('defect 14: kiln logs on a terminal shows an app\'s escape sequences escaped; piped output keeps them', { timeout: 120_000 }, async () => {
    await call('/escapes');
    await waitFor(async () => (await logs('--grep', 'tty-probe')).length === 1, { timeoutMs: 20_000, what: 'the line with escapes' });
    // script(1) gives `kiln logs` a pseudo-terminal as its stdout, as a person's shell would.
    const cmd = `${process.execPath} ${path.join(p.repoRoot, 'bin', 'kiln.js')} logs ${CLUSTER} --grep tty-probe`;
    const onTty = await new Promise<string>((resolve, reject) =>
      execFile('script', ['-qec', cmd, '/dev/null'], { cwd: p.dir, timeout: 60_000 }, (e, out) => (e ? reject(e) : resolve(out))),
    );
    const shown = onTty.split('\n').find((l) => l.includes('tty-probe')) ?? '';
    assert.ok(shown.includes('\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31m red \\x9b1m end'), `on a terminal: ${JSON.stringify(onTty)}`);
    assert.ok(!/[\u001b\u0007\u009b]/.test(shown), `raw escapes reached the terminal: ${JSON.stringify(shown)}`);
    const piped = (await p.kiln(['logs', CLUSTER, '--grep', 'tty-probe'])).stdout;
    assert.ok(piped.includes('tty-probe \x1b]0;pwned\x07\x1b[2J'), 'piped output keeps the bytes');
    await write(10);
  });

  test('defect 6: three rotations by rename while the control plane is down: every line arrives exactly once', { timeout: 180_000 }, async (t) => {
    await write(200);
    // Down: SIGKILL, as a crash. The proxy and the server keep running.
    server.kill('SIGKILL');
    await server.exited;
    for (let r = 0; r < 3; r++) {
      await write(300);
      await call('/rotate');
    }
    await write(300);
    server = await p.startServer();
    const got = await waitFor(allArrived, { timeoutMs: 60_000, what: `all ${next} lines after the restart` });
    await sleep(1000); // a late duplicate would show up now
    const final = await seqs();
    const seen = new Set(final);
    const lost = Array.from({ length: next }, (_, i) => i).filter((i) => !seen.has(i)).length;
    const duplicates = final.length - seen.size;
    t.diagnostic(`rotation during an outage: ${next} lines written, lines lost: ${lost}, duplicated: ${duplicates} (3 rotations while down)`);
    assert.ok(got.length >= next);
    assert.equal(lost, 0, 'lines lost');
    assert.equal(duplicates, 0, 'lines stored twice');
    assert.deepEqual(final, Array.from({ length: next }, (_, i) => i), 'in order');
  });
});

/**
 * A server that floods its --log-file at full speed (12 MB, yielding between bursts so health
 * checks answer): more than one poll round's budget, as when the descriptor bug struck.
 */
const FLOOD_SERVER = String.raw`
const fs = require('fs'), http = require('http');
const flags = Object.fromEntries(process.argv.slice(2).filter((a) => a.startsWith('--')).map((a) => { const i = a.indexOf('='); return [a.slice(2, i), a.slice(i + 1)]; }));
const fd = fs.openSync(flags['log-file'], 'a');
let i = 0;
const burst = () => {
  let s = '';
  for (let k = 0; k < 10000 && i < 250000; k++) s += 'flood ' + (i++) + ' ' + 'z'.repeat(40) + '\n';
  if (s) fs.writeSync(fd, s);
  if (i < 250000) setImmediate(burst);
};
burst();
http.createServer((req, res) => res.end('ok')).listen(Number(flags.port), '127.0.0.1');
`;

describe('defect 4: log floods from several servers during repeated deploys', () => {
  let p: TestProject;
  let server: ServerProc;

  before(async () => {
    p = await makeProject();
    fs.chmodSync(p.dir, 0o711);
    fs.rmSync(path.join(p.dir, 'apps'), { recursive: true, force: true });
    fs.mkdirSync(path.join(p.dir, 'apps', 'flood'), { recursive: true });
    fs.writeFileSync(path.join(p.dir, 'apps', 'flood', 'server.js'), FLOOD_SERVER);
    fs.writeFileSync(
      path.join(p.dir, 'kiln.yaml'),
      [
        'project: flood',
        'domain: flood.test',
        `proxy: { port: ${p.proxyPort} }`,
        `dns: { port: ${p.dnsPort} }`,
        'services:',
        '  flood:',
        '    app: { path: apps/flood, run: [node, server.js] }',
        '    roles: { http: { replicas: 3, port: http, health: /healthz } }',
        '    flags: { log-file: "${log.file}" }',
        'environments:',
        '  dev: { runtime: process }',
        '',
      ].join('\n'),
    );
    await p.kiln(['init']);
    await p.kiln(['app', 'tag', 'flood', '1.0.0']);
    await p.kiln(['release', 'create']);
    server = await p.startServer();
  });
  after(async () => {
    await p?.cleanup();
  });

  test('defect 4: three servers flood their logs through 4 deploys: the control plane and DNS survive, every line is stored once', { timeout: 300_000 }, async (t) => {
    const dns = probeDns(p.dnsPort, 'flood-http-dev.flood.test');
    let exited = false;
    void server.exited.then(() => (exited = true));
    await p.kiln(['deploy', 'r1', '--env', 'dev']);
    for (let v = 1; v <= 3; v++) {
      // A new build each time: new servers start flooding while the old ones are still flooding.
      fs.appendFileSync(path.join(p.dir, 'apps', 'flood', 'server.js'), `// build ${v}\n`);
      await p.kiln(['app', 'tag', 'flood', `1.0.${v}`]);
      await p.kiln(['release', 'create']);
      await p.kiln(['deploy', `r${v + 1}`, '--env', 'dev']);
    }
    const d = await dns.stop();
    assert.equal(exited, false, `the control plane exited:\n${server.output().slice(-3000)}`);
    assert.doesNotMatch(server.output(), /EBADF|ESPIPE|used after close/, 'descriptor errors in the control plane\'s log');
    // What every server wrote is in its file (rotation is not part of this test): the store must
    // hold each of those lines once.
    const root = path.join(p.dir, '.kiln', 'logs', 'dev', 'flood-http-dev');
    // Each server's --log-file, wherever below the cluster's log directory it is.
    const files = new Map<string, string>();
    for (const rel of fs.readdirSync(root, { recursive: true }) as string[]) {
      const m = /^(flood-http-dev-v\d+-\d+)\.log$/.exec(path.basename(rel));
      if (m) files.set(m[1]!, path.join(root, rel));
    }
    const count = (file: string): number => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('flood ')).length;
    const onDisk = new Map<string, number>([...files].map(([name, file]) => [name, count(file)]));
    assert.equal(onDisk.size, 12, `servers: ${[...onDisk.keys()].join(', ')}`);
    const stored = (): Map<string, { n: number; distinct: number }> => {
      const db = new Database(path.join(p.dir, '.kiln', 'logs.db'), { readonly: true, fileMustExist: true });
      try {
        const rows = db.prepare("SELECT server, COUNT(*) AS n, COUNT(DISTINCT text) AS distinct_n FROM lines WHERE stream = 'log' AND text LIKE 'flood %' GROUP BY server").all() as Array<{ server: string; n: number; distinct_n: number }>;
        return new Map(rows.map((r) => [r.server, { n: r.n, distinct: r.distinct_n }]));
      } finally {
        db.close();
      }
    };
    // The newest servers may still write; wait until they are done (250,000 lines each) and stored.
    const final = await waitFor(
      () => {
        const s = stored();
        for (const [name, file] of files) {
          const n = count(file);
          onDisk.set(name, n);
          if ((s.get(name)?.n ?? 0) < n) return false;
        }
        return s;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'every flooded line in logs.db' },
    );
    let lost = 0;
    let twice = 0;
    for (const [name, n] of onDisk) {
      const got = final.get(name) ?? { n: 0, distinct: 0 };
      lost += Math.max(0, n - got.distinct);
      twice += got.n - got.distinct;
    }
    const total = [...onDisk.values()].reduce((a, b) => a + b, 0);
    t.diagnostic(`flood during 4 deploys: ${onDisk.size} servers wrote ${total} lines; lost ${lost}, stored twice ${twice}; DNS ${d.answered}/${d.sent} answered, longest silence ${d.longestSilenceMs.toFixed(0)} ms`);
    assert.equal(lost, 0, 'lines lost');
    assert.equal(twice, 0, 'lines stored twice');
    assert.ok(d.sent > 10 && d.answered >= d.sent - 2, `DNS answered ${d.answered} of ${d.sent}`);
  });
});
