// Issue 13, item 7: a third-party program as a service. examples/static-site runs http-server from
// npm (built with `npm ci` from its committed lock file, run unchanged), which takes `--name value`
// flags, a bare `--cors` and the directory to serve as a positional argument. It is configured only
// by what Kiln renders; r1 -> r2 is switched under continuous load with zero failed requests.
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { makeProject, type ServerProc, type TestProject } from './lib/project.js';
import { startLoad, waitFor } from './lib/load.js';
import { runPaths } from '../../src/server/paths.js';
import type { StatusView } from '../../src/server/status.js';

const HOST = 'www-http-dev.site.test';

function get(port: number, urlPath: string, host?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, headers: host ? { host } : {}, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

describe('a third-party server (http-server from npm) as a service', () => {
  let p: TestProject;
  let server: ServerProc;
  const status = async (): Promise<StatusView> => JSON.parse((await p.kiln(['status', '--env', 'dev', '--json'])).stdout) as StatusView;
  // `npm ci` fetches the locked packages: give the build more than the default two minutes.
  const build = { timeoutMs: 300_000 };

  before(async () => {
    p = await makeProject({ example: 'static-site' });
    await p.kiln(['init']);
    await p.kiln(['app', 'tag', 'www', '1.0.0'], build);
    await p.kiln(['release', 'create']);
    server = await p.startServer();
    await p.kiln(['deploy', 'r1', '--env', 'dev']);
  });
  after(async () => {
    server?.kill();
    await p?.cleanup();
  });

  test('Kiln renders its flags in the style it reads, a bare flag, no --log-file, the directory as a positional argument', async () => {
    const out = JSON.parse((await p.kiln(['flags', 'www', '--env', 'dev', '--json'])).stdout) as { clusters: Array<{ command: string[] }> };
    assert.deepEqual(out.clusters[0]?.command, [
      'node', 'node_modules/http-server/bin/http-server', '--a', '127.0.0.1', '--cors', '--d', 'false', '--port', '${port}', 'public',
    ]);
    const text = (await p.kiln(['deploy', 'r1', '--env', 'dev', '--dry-run'])).stdout;
    assert.match(text, /www-http-dev: unchanged/);
  });

  test('each server listens where Kiln told it, configured by exactly those arguments', async () => {
    const st = await status();
    const cluster = st.clusters.find((c) => c.name === 'www-http-dev');
    assert.equal(cluster?.active, 'www-http-dev-v001');
    const servers = cluster!.groups[0]!.servers;
    assert.equal(servers.length, 2);
    for (const s of servers) {
      assert.equal(s.state, 'healthy');
      // --a 127.0.0.1 --port <n>: it answers on the port Kiln picked, on loopback.
      const direct = await get(s.port!, '/version.txt');
      assert.equal(direct.status, 200);
      assert.equal(direct.body.trim(), '1.0.0');
      // The bare --cors took effect; `--d false` (a quoted value) turned directory listings off.
      assert.equal(direct.headers['access-control-allow-origin'], '*');
      assert.equal((await get(s.port!, '/assets/')).status, 403);
      // What it printed at start: the positional argument, resolved to the app's own directory.
      const logs = runPaths(path.join(p.dir, '.kiln')).serverLogs('dev', 'www-http-dev', s.name);
      const stdout = fs.readFileSync(logs.stdout, 'utf8');
      assert.match(stdout, /serving \S+\/public\b/);
      assert.match(stdout, new RegExp(`http://127\\.0\\.0\\.1:${s.port}\\b`));
      assert.ok(!fs.existsSync(logs.log), 'no --log-file was passed, so no log file was written');
    }
    const viaProxy = await get(p.proxyPort, '/', HOST);
    assert.equal(viaProxy.status, 200);
    assert.match(viaProxy.body, /Served by http-server, configured by Kiln/);
  });

  test('r1 -> r2 under continuous load: zero failed requests, the version switches once', async () => {
    fs.writeFileSync(path.join(p.dir, 'apps', 'www', 'public', 'version.txt'), '2.0.0\n');
    await p.kiln(['app', 'tag', 'www', '2.0.0'], build);
    const r2 = JSON.parse((await p.kiln(['release', 'create', '--json'])).stdout) as { name: string };
    assert.equal(r2.name, 'r2');
    const load = startLoad({ url: `http://127.0.0.1:${p.proxyPort}/version.txt`, host: HOST, mix: 'both', concurrency: 8, versionFromBody: true });
    await waitFor(() => load.stats().total >= 300, { what: 'load before the deploy' });
    await p.kiln(['deploy', 'r2', '--env', 'dev']);
    await waitFor(() => (load.stats().byVersion['2.0.0'] ?? 0) >= 300, { what: 'r2 answering after the switch' });
    const report = await load.stop();
    assert.equal(report.failed, 0, report.errors.join('\n'));
    assert.deepEqual(report.segments(), ['1.0.0', '2.0.0']);
    assert.equal(report.transitions(), 1);
    const cluster = (await status()).clusters.find((c) => c.name === 'www-http-dev');
    assert.equal(cluster?.active, 'www-http-dev-v002');
  });
});
