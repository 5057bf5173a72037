// HAProxy's configuration written from the route table: a pure function, so a test asserts the
// exact lines (like runtime/podman/commands.ts). The servers' states are written as they are now
// (a server not `ready` starts `disabled`); engine.ts brings the finer states (drain) with
// runtime commands right after a (re)load. Strings are single-quoted: HAProxy expands neither
// escapes nor environment variables inside single quotes, and Kiln's texts hold no quote.
import path from 'node:path';
import type { ClusterRoute, RouteTable } from '../routes.js';
import { EXPIRED_VAR, holdScript } from './hold.js';
import { pauseEntries, assignSlots, backendOf, PREVIEW_SLOTS, previewBackend, previewEntries, serverArgs, serversOf } from './layout.js';

export interface HaproxyConfigOptions {
  /** The public listener that routes by Host (kiln.yaml `proxy.host`, `proxy.port`). */
  listen: { host: string; port: number };
  /** The worker's stats socket, level admin: the runtime API (mode 0600, in .kiln/run, 0700). */
  adminSocket: string;
  /** Where maintenance pages are written (config reads them by path). */
  pagesDir: string;
  /** The map of group host names to their preview backends (layout.ts); changed at run time too. */
  previewMap: string;
  /** The map of paused clusters to their bounds, and the Lua action that holds their requests (hold.ts). */
  pauseMap: string;
  holdScript: string;
  /** kiln.yaml `proxy.tunnel-idle-timeout`; 0: never (HAProxy's longest timeout). */
  tunnelIdleTimeoutMs: number;
  /** kiln.yaml `metrics`: HAProxy's Prometheus exporter on host:port/metrics. */
  metrics?: { host: string; port: number };
}

export interface HaproxyConfig {
  /** haproxy.cfg's text. */
  text: string;
  /** Files the config reads (maintenance pages), to be written before it is loaded. */
  files: Array<{ path: string; content: string }>;
}

/** HAProxy's timers hold at most 2^31-1 ms (about 24.8 days): "never" is that. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** The headers a client may set only when it is a trusted proxy (as request-head.ts). */
const VOUCHED = ['X-Forwarded-For', 'X-Forwarded-Host', 'X-Forwarded-Proto', 'Forwarded', 'X-Real-IP'];

export function maintenancePagePath(pagesDir: string, cluster: string): string {
  return path.join(pagesDir, `${cluster}.maintenance.html`);
}

/**
 * The lines that answer a cluster's requests in HAProxy itself: maintenance (config, wins), then
 * a pause (held by the Lua action while the cluster is in the pause map; 503 past its bound).
 * `cond` is the cluster's condition (" if host_x"), or "" on its own port.
 */
function answeredHere(c: ClusterRoute, opts: HaproxyConfigOptions, cond: string): string[] {
  const and = cond === '' ? ' if' : cond;
  const maintenance = c.maintenance
    ? [
        `  http-request return status 503 content-type 'text/html; charset=utf-8' file ${maintenancePagePath(opts.pagesDir, c.name)} ` +
          `hdr Retry-After ${c.maintenance.retryAfterS} hdr Cache-Control no-store${cond}`,
      ]
    : [];
  return [
    ...maintenance,
    `  http-request lua.kiln_hold ${c.name}${and} { str(${c.name}),map(${opts.pauseMap}) -m found }`,
    `  http-request return status 503 content-type 'text/plain' string 'cluster ${c.name} is paused and its bound passed; kiln resume ${c.name} lets requests through again' ` +
      `hdr Retry-After 5${and} { var(${EXPIRED_VAR}) -m found }`,
  ];
}

/** Drops a client's forwarding headers unless it is a trusted proxy, then sets HAProxy's own. */
function forwardingRules(trusted: readonly string[]): string[] {
  const unless = trusted.length > 0 ? ' unless kiln_trusted' : '';
  return [
    ...(trusted.length > 0 ? [`  acl kiln_trusted src ${trusted.join(' ')}`] : []),
    ...VOUCHED.map((h) => `  http-request del-header ${h}${unless}`),
    '  http-request set-header X-Forwarded-Host %[req.hdr(host)] if { req.hdr(host) -m found } !{ req.hdr(x-forwarded-host) -m found }',
    '  http-request set-header X-Forwarded-Proto http unless { req.hdr(x-forwarded-proto) -m found }',
    '  option forwardfor',
    // Retried on an empty answer only when sending it twice cannot do it twice (as the embedded
    // proxy, docs/proxy.md); a refused connection (nothing reached a server) is retried for all.
    '  http-request disable-l7-retry unless METH_GET or METH_HEAD or METH_OPTIONS',
  ];
}

/** Host names as the Host header may carry them: any case (-i), with or without the port (field) and a final dot. */
function hostPatterns(hosts: readonly string[]): string {
  return hosts.flatMap((h) => [h, `${h}.`]).join(' ');
}

/** `slots`: the preview slot of each group (layout.ts assignSlots), the ones HAProxy has when it runs. */
export function haproxyConfig(table: RouteTable, opts: HaproxyConfigOptions, slots: ReadonlyMap<string, number> = assignSlots(table)): HaproxyConfig {
  const tunnel = opts.tunnelIdleTimeoutMs > 0 ? Math.min(opts.tunnelIdleTimeoutMs, MAX_TIMEOUT_MS) : MAX_TIMEOUT_MS;
  const servers = serversOf(table, slots);
  const trusted = table.trustedProxies ?? [];
  const lines = [
    `# Written by Kiln from route table version ${table.version} (src/proxy/haproxy/config.ts).`,
    '# Do not edit: the next route change writes it again.',
    'global',
    `  stats socket ${opts.adminSocket} mode 600 level admin expose-fd listeners`,
    '  stats timeout 30s',
    '  maxconn 4096',
    // An old worker after a reload finishes its requests, at most this long.
    '  hard-stop-after 5m',
    // No `log`: HAProxy writes its warnings (servers up and down, reloads) to stderr, which is
    // .kiln/logs/haproxy.log, without one, and a log line per request costs a quarter of its
    // throughput here (bench/haproxy-engine.js).
    `  lua-load ${opts.holdScript}`,
    'defaults',
    '  mode http',
    '  timeout connect 5s',
    '  timeout client 300s',
    '  timeout server 300s',
    '  timeout http-request 10s',
    '  timeout queue 5s',
    `  timeout tunnel ${tunnel}ms`,
    // Safe retries: only a request no server took (refused) or answered with nothing at all (a
    // kept-alive connection the server had closed), each time on another server.
    '  retries 3',
    '  retry-on conn-failure empty-response',
    '  option redispatch 1',
    // A reload's old worker answers the next request on an idle keep-alive connection (with
    // Connection: close) instead of closing it under a client about to send one: no reload fails
    // a request (engine.test.ts). It lingers at most an idle timeout (http-request, 10 s).
    '  option idle-close-on-response',
    'frontend kiln_main',
    `  bind ${opts.listen.host}:${opts.listen.port}`,
    ...forwardingRules(trusted),
  ];
  for (const c of table.clusters) {
    const acl = `host_${c.name}`;
    lines.push(`  acl ${acl} req.hdr(host),field(1,:) -i ${hostPatterns(c.hosts)}`);
    lines.push(...answeredHere(c, opts, ` if ${acl}`));
    lines.push(`  use_backend ${backendOf(c.name)} if ${acl}`);
  }
  // A group's own host names: the map names its preview backend; anything else is no route.
  lines.push(`  use_backend %[req.hdr(host),field(1,:),lower,map(${opts.previewMap},kiln_no_route)]`);
  lines.push('  default_backend kiln_no_route');
  for (const c of table.clusters) {
    if (c.port === undefined) continue;
    lines.push(`frontend kiln_port_${c.name}`, `  bind ${opts.listen.host}:${c.port}`, ...forwardingRules(trusted), ...answeredHere(c, opts, ''));
    lines.push(`  default_backend ${backendOf(c.name)}`);
  }
  if (opts.metrics) {
    lines.push(
      'frontend kiln_metrics',
      `  bind ${opts.metrics.host}:${opts.metrics.port}`,
      '  http-request use-service prometheus-exporter if { path /metrics }',
      "  http-request return status 404 content-type 'text/plain' string 'not found; metrics are at /metrics'",
    );
  }
  lines.push('backend kiln_no_route', "  http-request return status 404 content-type 'text/plain' string 'no route for this host'");
  for (const c of table.clusters) {
    lines.push(`backend ${backendOf(c.name)}`, '  balance roundrobin', '  option allbackups');
    for (const s of servers.filter((x) => x.cluster === c.name)) {
      if (s.backend === backendOf(c.name)) lines.push(`  server ${s.name} ${serverArgs(s).join(' ')}${s.state === 'ready' ? '' : ' disabled'}`);
    }
    for (let slot = 0; slot < PREVIEW_SLOTS; slot++) {
      const backend = previewBackend(c.name, slot);
      lines.push(`backend ${backend}`, '  balance roundrobin');
      for (const s of servers.filter((x) => x.backend === backend)) lines.push(`  server ${s.name} ${serverArgs(s).join(' ')}`);
    }
  }
  lines.push('');
  const files = table.clusters.flatMap((c) => (c.maintenance ? [{ path: maintenancePagePath(opts.pagesDir, c.name), content: c.maintenance.page }] : []));
  files.push({ path: opts.holdScript, content: holdScript(opts.pauseMap) });
  files.push({ path: opts.pauseMap, content: pauseEntries(table).map(([k, v]) => `${k} ${v}\n`).join('') });
  files.push({ path: opts.previewMap, content: previewEntries(table, slots).map(([h, b]) => `${h} ${b}\n`).join('') });
  return { text: lines.join('\n'), files };
}
