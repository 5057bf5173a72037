// The HAProxy config written from a route table, line by line: what HAProxy is told is what a
// user of the haproxy engine gets (routes, ports, fallback, maintenance, pause, sockets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteTable } from '../routes.js';
import { haproxyConfig, type HaproxyConfigOptions } from './config.js';

const opts: HaproxyConfigOptions = {
  listen: { host: '127.0.0.1', port: 7080 },
  adminSocket: '/p/.kiln/run/haproxy/admin.sock',
  pagesDir: '/p/.kiln/run/haproxy/pages',
  previewMap: '/p/.kiln/run/haproxy/preview.map',
  pauseMap: '/p/.kiln/run/haproxy/pause.map',
  holdScript: '/p/.kiln/run/haproxy/hold.lua',
  tunnelIdleTimeoutMs: 3_600_000,
};

const group = (name: string, ports: number[]) => ({
  name,
  hosts: [`${name}.shop.test`, name],
  backends: ports.map((port, i) => ({ server: `${name}-${i + 1}`, host: '127.0.0.1', port })),
});

const table: RouteTable = {
  version: 7,
  clusters: [
    {
      name: 'api-http-dev',
      hosts: ['api-http-dev.shop.test', 'api-http-dev'],
      port: 41000,
      active: 'api-http-dev-v002',
      fallback: 'api-http-dev-v001',
      groups: [group('api-http-dev-v001', [42001]), group('api-http-dev-v002', [42002, 42003])],
    },
  ],
};

const CHECK = 'check inter 1s fall 2 rise 1 observe layer4 error-limit 1 on-error mark-down';

test('one backend per cluster: the active group serves, the kept group is the backup copy, the rest start disabled', () => {
  const lines = haproxyConfig(table, opts).text.split('\n');
  const at = lines.indexOf('backend c_api-http-dev');
  assert.deepEqual(lines.slice(at), [
    'backend c_api-http-dev',
    '  balance roundrobin',
    '  option allbackups',
    `  server api-http-dev-v001-1 127.0.0.1:42001 ${CHECK} disabled`,
    `  server api-http-dev-v001-1_fallback 127.0.0.1:42001 backup ${CHECK}`,
    `  server api-http-dev-v002-1 127.0.0.1:42002 ${CHECK}`,
    `  server api-http-dev-v002-1_fallback 127.0.0.1:42002 backup ${CHECK} disabled`,
    `  server api-http-dev-v002-2 127.0.0.1:42003 ${CHECK}`,
    `  server api-http-dev-v002-2_fallback 127.0.0.1:42003 backup ${CHECK} disabled`,
    // Each group has a preview backend of its own, reached by its host names through the map.
    'backend p_api-http-dev_0',
    '  balance roundrobin',
    `  server api-http-dev-v001-1 127.0.0.1:42001 ${CHECK}`,
    'backend p_api-http-dev_1',
    '  balance roundrobin',
    `  server api-http-dev-v002-1 127.0.0.1:42002 ${CHECK}`,
    `  server api-http-dev-v002-2 127.0.0.1:42003 ${CHECK}`,
    'backend p_api-http-dev_2',
    '  balance roundrobin',
    'backend p_api-http-dev_3',
    '  balance roundrobin',
    '',
  ]);
});

test('global and defaults: the admin socket 0600, safe retries with redispatch, the tunnel timeout', () => {
  const lines = haproxyConfig(table, opts).text.split('\n');
  assert.deepEqual(lines.slice(0, lines.indexOf('frontend kiln_main')), [
    '# Written by Kiln from route table version 7 (src/proxy/haproxy/config.ts).',
    '# Do not edit: the next route change writes it again.',
    'global',
    '  stats socket /p/.kiln/run/haproxy/admin.sock mode 600 level admin expose-fd listeners',
    '  stats timeout 30s',
    '  maxconn 4096',
    '  hard-stop-after 5m',
    '  lua-load /p/.kiln/run/haproxy/hold.lua',
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 300s',
    '  timeout server 300s',
    '  timeout http-request 10s',
    '  timeout queue 5s',
    '  timeout tunnel 3600000ms',
    '  retries 3',
    '  retry-on conn-failure empty-response',
    '  option redispatch 1',
    '  option idle-close-on-response',
  ]);
  assert.ok(haproxyConfig(table, { ...opts, tunnelIdleTimeoutMs: 0 }).text.includes('  timeout tunnel 2147483647ms'), '0s: never closed');
});

test('the public listener routes by Host (any case, with a port or a final dot); the cluster port serves only its cluster', () => {
  const text = haproxyConfig(table, opts).text;
  const main = text.slice(text.indexOf('frontend kiln_main'), text.indexOf('frontend kiln_port_'));
  assert.deepEqual(main.trimEnd().split('\n'), [
    'frontend kiln_main',
    '  bind 127.0.0.1:7080',
    '  http-request del-header X-Forwarded-For',
    '  http-request del-header X-Forwarded-Host',
    '  http-request del-header X-Forwarded-Proto',
    '  http-request del-header Forwarded',
    '  http-request del-header X-Real-IP',
    '  http-request set-header X-Forwarded-Host %[req.hdr(host)] if { req.hdr(host) -m found } !{ req.hdr(x-forwarded-host) -m found }',
    '  http-request set-header X-Forwarded-Proto http unless { req.hdr(x-forwarded-proto) -m found }',
    '  option forwardfor',
    '  http-request disable-l7-retry unless METH_GET or METH_HEAD or METH_OPTIONS',
    '  acl host_api-http-dev req.hdr(host),field(1,:) -i api-http-dev.shop.test api-http-dev.shop.test. api-http-dev api-http-dev.',
    '  http-request lua.kiln_hold api-http-dev if host_api-http-dev { str(api-http-dev),map(/p/.kiln/run/haproxy/pause.map) -m found }',
    "  http-request return status 503 content-type 'text/plain' string 'cluster api-http-dev is paused and its bound passed; kiln resume api-http-dev lets requests through again' hdr Retry-After 5 if host_api-http-dev { var(txn.kiln_pause_expired) -m found }",
    '  use_backend c_api-http-dev if host_api-http-dev',
    '  use_backend %[req.hdr(host),field(1,:),lower,map(/p/.kiln/run/haproxy/preview.map,kiln_no_route)]',
    '  default_backend kiln_no_route',
  ]);
  assert.match(text, /frontend kiln_port_api-http-dev\n {2}bind 127\.0\.0\.1:41000\n[^]*? {2}default_backend c_api-http-dev\n/);
  assert.match(text, /backend kiln_no_route\n {2}http-request return status 404 content-type 'text\/plain' string 'no route for this host'\n/);
});

test('trusted proxies keep their forwarding headers; everyone else has them dropped', () => {
  const text = haproxyConfig({ ...table, trustedProxies: ['10.0.0.0/8', '192.0.2.7'] }, opts).text;
  assert.match(text, / {2}acl kiln_trusted src 10\.0\.0\.0\/8 192\.0\.2\.7\n {2}http-request del-header X-Forwarded-For unless kiln_trusted\n/);
});

test('maintenance: 503 with the page from a file, Retry-After, no-store, before the pause rules', () => {
  const c = { ...table.clusters[0]!, maintenance: { page: '<h1>back soon</h1>', retryAfterS: 120 }, hold: { until: 1700000000000 } };
  const cfg = haproxyConfig({ ...table, clusters: [c] }, opts);
  assert.deepEqual(cfg.files[0], { path: '/p/.kiln/run/haproxy/pages/api-http-dev.maintenance.html', content: '<h1>back soon</h1>' });
  const rule =
    "http-request return status 503 content-type 'text/html; charset=utf-8' file /p/.kiln/run/haproxy/pages/api-http-dev.maintenance.html hdr Retry-After 120 hdr Cache-Control no-store";
  assert.ok(cfg.text.includes(`  ${rule} if host_api-http-dev\n  http-request lua.kiln_hold api-http-dev if host_api-http-dev `), 'on the public listener, for its hosts');
  assert.ok(cfg.text.includes(`  ${rule}\n  http-request lua.kiln_hold api-http-dev if { str(api-http-dev)`), 'on the cluster port, for everything');
  assert.equal(cfg.files.find((f) => f.path.endsWith('pause.map'))?.content, '', 'maintenance wins over the pause');
});

test('pause: the Lua hold bound to the pause map, whose entries are the paused clusters and their bounds', () => {
  const c = { ...table.clusters[0]!, hold: { until: 1700000000000 } };
  const cfg = haproxyConfig({ ...table, clusters: [c] }, opts);
  assert.equal(cfg.files.find((f) => f.path.endsWith('pause.map'))?.content, 'api-http-dev 1700000000000\n');
  const lua = cfg.files.find((f) => f.path === '/p/.kiln/run/haproxy/hold.lua')?.content ?? '';
  assert.match(lua, /^local pauses = Map\.new\("\/p\/\.kiln\/run\/haproxy\/pause\.map", Map\._str\)$/m);
  assert.match(lua, /core\.register_action\("kiln_hold"/);
  assert.equal(haproxyConfig({ ...table, clusters: [c] }, opts).text, haproxyConfig(table, opts).text, 'the config itself is the same: a pause is no reload');
});

test('metrics: HAProxy\'s Prometheus exporter on its own listener', () => {
  const text = haproxyConfig(table, { ...opts, metrics: { host: '127.0.0.1', port: 9101 } }).text;
  assert.match(text, /frontend kiln_metrics\n {2}bind 127\.0\.0\.1:9101\n {2}http-request use-service prometheus-exporter if \{ path \/metrics \}\n/);
  assert.ok(!haproxyConfig(table, opts).text.includes('prometheus'), 'none without kiln.yaml metrics');
});

test('the preview map: every group host name, lower case, with and without a final dot, to its slot backend', () => {
  const cfg = haproxyConfig(table, opts, new Map([['api-http-dev-v001', 2], ['api-http-dev-v002', 0]]));
  assert.deepEqual(cfg.files.filter((f) => f.path.endsWith('preview.map')), [
    {
      path: '/p/.kiln/run/haproxy/preview.map',
      content: [
        'api-http-dev-v001 p_api-http-dev_2',
        'api-http-dev-v001. p_api-http-dev_2',
        'api-http-dev-v001.shop.test p_api-http-dev_2',
        'api-http-dev-v001.shop.test. p_api-http-dev_2',
        'api-http-dev-v002 p_api-http-dev_0',
        'api-http-dev-v002. p_api-http-dev_0',
        'api-http-dev-v002.shop.test p_api-http-dev_0',
        'api-http-dev-v002.shop.test. p_api-http-dev_0',
        '',
      ].join('\n'),
    },
  ]);
  assert.match(cfg.text, /backend p_api-http-dev_2\n {2}balance roundrobin\n {2}server api-http-dev-v001-1 127\.0\.0\.1:42001 /);
});
