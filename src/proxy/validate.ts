// Strict validation of a route table received on the admin socket or read from the routes file.
// The proxy never serves from a table it has not checked: a bad PUT is refused whole (400) and
// the running table is kept, so a control-plane bug cannot blank out production routing.
import { isDnsLabel } from '../names/names.js';
import { cidrProblem } from '../util/cidr.js';
import { MAX_PAGE_BYTES, type Backend, type CanaryRoute, type ClusterRoute, type GroupRoute, type MaintenancePage, type RouteTable } from './routes.js';

export type Validation = { ok: true; table: RouteTable } | { ok: false; errors: string[] };

// Host names as the proxy matches them: lower case, no port, no trailing dot.
const HOST = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** The form a Host header or a table host is compared in: "Web.Shop.Test.:8080" -> "web.shop.test". */
export function normalizeHost(raw: string): string {
  let h = raw.trim().toLowerCase();
  if (h.startsWith('[')) {
    // IPv6 literal: "[::1]:8080" -> "[::1]"
    const end = h.indexOf(']');
    h = end === -1 ? h : h.slice(0, end + 1);
  } else {
    const colon = h.indexOf(':');
    if (colon !== -1) h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isPort(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= 65535;
}

class Checker {
  readonly errors: string[] = [];
  fail(path: string, msg: string): void {
    this.errors.push(`${path}: ${msg}`);
  }
  /** Reports keys not in `allowed` (a typo must not be silently ignored). */
  keys(path: string, o: Record<string, unknown>, allowed: string[], required: string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.fail(path, `unknown key "${k}" (allowed: ${allowed.join(', ')})`);
    }
    for (const k of required) if (!(k in o)) this.fail(path, `missing key "${k}"`);
  }
  label(path: string, x: unknown): x is string {
    if (typeof x !== 'string' || !isDnsLabel(x)) {
      this.fail(path, `must be a DNS label ([a-z0-9-], 1-63 characters), got ${JSON.stringify(x)}`);
      return false;
    }
    return true;
  }
  hosts(path: string, x: unknown): string[] {
    if (!Array.isArray(x)) {
      this.fail(path, 'must be an array of host names');
      return [];
    }
    const out: string[] = [];
    x.forEach((h, i) => {
      const n = typeof h === 'string' ? normalizeHost(h) : '';
      if (typeof h !== 'string' || n !== h.toLowerCase().replace(/\.$/, '') || !HOST.test(n) || n.length > 253) {
        this.fail(`${path}[${i}]`, `must be a host name without port or scheme, got ${JSON.stringify(h)}`);
      } else out.push(h);
    });
    return out;
  }
}

function checkBackend(c: Checker, path: string, x: unknown): Backend | null {
  if (!isObject(x)) {
    c.fail(path, 'must be an object {server, host, port}');
    return null;
  }
  c.keys(path, x, ['server', 'host', 'port'], ['server', 'host', 'port']);
  const okServer = c.label(`${path}.server`, x.server);
  const okHost = typeof x.host === 'string' && x.host.length > 0 && x.host.length <= 253 && !/[\s/]/.test(x.host);
  if (!okHost) c.fail(`${path}.host`, `must be a host name or IP address, got ${JSON.stringify(x.host)}`);
  if (!isPort(x.port)) c.fail(`${path}.port`, `must be an integer port 1-65535, got ${JSON.stringify(x.port)}`);
  if (!okServer || !okHost || !isPort(x.port)) return null;
  return { server: x.server as string, host: x.host as string, port: x.port };
}

function checkGroup(c: Checker, path: string, x: unknown): GroupRoute | null {
  if (!isObject(x)) {
    c.fail(path, 'must be an object {name, hosts, backends}');
    return null;
  }
  c.keys(path, x, ['name', 'hosts', 'backends'], ['name', 'hosts', 'backends']);
  const okName = c.label(`${path}.name`, x.name);
  const hosts = c.hosts(`${path}.hosts`, x.hosts);
  const backends: Backend[] = [];
  if (!Array.isArray(x.backends)) c.fail(`${path}.backends`, 'must be an array');
  else {
    x.backends.forEach((b, i) => {
      const ok = checkBackend(c, `${path}.backends[${i}]`, b);
      if (ok) backends.push(ok);
    });
  }
  return okName ? { name: x.name as string, hosts, backends } : null;
}

function checkCluster(c: Checker, path: string, x: unknown): ClusterRoute | null {
  if (!isObject(x)) {
    c.fail(path, 'must be an object {name, hosts, port?, active, groups}');
    return null;
  }
  c.keys(path, x, ['name', 'hosts', 'port', 'active', 'fallback', 'canary', 'groups', 'hold', 'maintenance'], ['name', 'hosts', 'active', 'groups']);
  const okName = c.label(`${path}.name`, x.name);
  const hosts = c.hosts(`${path}.hosts`, x.hosts);
  if (x.port !== undefined && !isPort(x.port)) {
    c.fail(`${path}.port`, `must be an integer port 1-65535, got ${JSON.stringify(x.port)}`);
  }
  const groups: GroupRoute[] = [];
  if (!Array.isArray(x.groups)) c.fail(`${path}.groups`, 'must be an array');
  else {
    x.groups.forEach((g, i) => {
      const ok = checkGroup(c, `${path}.groups[${i}]`, g);
      if (ok) groups.push(ok);
    });
  }
  if (x.active !== null && typeof x.active !== 'string') {
    c.fail(`${path}.active`, `must be a group name or null, got ${JSON.stringify(x.active)}`);
  } else if (typeof x.active === 'string' && Array.isArray(x.groups) && !groups.some((g) => g.name === x.active)) {
    c.fail(`${path}.active`, `names group "${x.active}", which is not in this cluster's groups`);
  }
  if (x.fallback !== undefined) {
    if (typeof x.fallback !== 'string' || !groups.some((g) => g.name === x.fallback)) {
      c.fail(`${path}.fallback`, `must name one of this cluster's groups, got ${JSON.stringify(x.fallback)}`);
    } else if (x.fallback === x.active) {
      c.fail(`${path}.fallback`, `names the active group "${x.fallback}"; a fallback must be another (kept) group`);
    }
  }
  const hold = x.hold === undefined ? undefined : checkHold(c, `${path}.hold`, x.hold);
  const maintenance = x.maintenance === undefined ? undefined : checkMaintenance(c, `${path}.maintenance`, x.maintenance);
  const canary = x.canary === undefined ? undefined : checkCanary(c, `${path}.canary`, x.canary, groups, x.active);
  if (!okName) return null;
  const route: ClusterRoute = { name: x.name as string, hosts, active: (x.active as string | null) ?? null, groups };
  if (isPort(x.port)) route.port = x.port;
  if (typeof x.fallback === 'string') route.fallback = x.fallback;
  if (hold) route.hold = hold;
  if (maintenance) route.maintenance = maintenance;
  if (canary) route.canary = canary;
  return route;
}

function checkHold(c: Checker, path: string, x: unknown): ClusterRoute['hold'] | undefined {
  if (!isObject(x)) {
    c.fail(path, 'must be an object {until}');
    return undefined;
  }
  c.keys(path, x, ['until'], ['until']);
  if (typeof x.until !== 'number' || !Number.isSafeInteger(x.until) || x.until < 0) {
    c.fail(`${path}.until`, `must be a time in milliseconds since the epoch, got ${JSON.stringify(x.until)}`);
    return undefined;
  }
  return { until: x.until };
}

function checkMaintenance(c: Checker, path: string, x: unknown): MaintenancePage | undefined {
  if (!isObject(x)) {
    c.fail(path, 'must be an object {page, retryAfterS}');
    return undefined;
  }
  c.keys(path, x, ['page', 'retryAfterS'], ['page', 'retryAfterS']);
  let ok = true;
  if (typeof x.page !== 'string' || Buffer.byteLength(x.page) > MAX_PAGE_BYTES) {
    c.fail(`${path}.page`, `must be a string of at most ${MAX_PAGE_BYTES} bytes`);
    ok = false;
  }
  if (typeof x.retryAfterS !== 'number' || !Number.isSafeInteger(x.retryAfterS) || x.retryAfterS < 0) {
    c.fail(`${path}.retryAfterS`, `must be a whole number of seconds, got ${JSON.stringify(x.retryAfterS)}`);
    ok = false;
  }
  return ok ? { page: x.page as string, retryAfterS: x.retryAfterS as number } : undefined;
}

/** A canary names another of the cluster's groups than the active one, with a weight 0-100. */
function checkCanary(c: Checker, path: string, x: unknown, groups: GroupRoute[], active: unknown): CanaryRoute | null {
  if (!isObject(x)) {
    c.fail(path, 'must be an object {group, weight}');
    return null;
  }
  c.keys(path, x, ['group', 'weight'], ['group', 'weight']);
  let ok = true;
  if (typeof x.group !== 'string' || !groups.some((g) => g.name === x.group)) {
    c.fail(`${path}.group`, `must name one of this cluster's groups, got ${JSON.stringify(x.group)}`);
    ok = false;
  } else if (x.group === active || typeof active !== 'string') {
    c.fail(`${path}.group`, `a canary needs an active group to split with and must be another group, got ${JSON.stringify(x.group)}`);
    ok = false;
  }
  const w = x.weight;
  if (typeof w !== 'number' || !Number.isFinite(w) || w < 0 || w > 100 || Math.abs(Math.round(w * 100) - w * 100) > 1e-6) {
    c.fail(`${path}.weight`, `must be a percentage 0-100 with at most two decimals, got ${JSON.stringify(w)}`);
    ok = false;
  }
  return ok ? { group: x.group as string, weight: w as number } : null;
}

/** Checks `x` is a RouteTable, with no unknown keys, no host or port claimed twice, no dangling active group. */
export function validateRouteTable(x: unknown): Validation {
  const c = new Checker();
  if (!isObject(x)) return { ok: false, errors: ['route table must be a JSON object {version, clusters}'] };
  c.keys('table', x, ['version', 'clusters', 'trustedProxies'], ['version', 'clusters']);
  if (typeof x.version !== 'number' || !Number.isSafeInteger(x.version) || x.version < 0) {
    c.fail('version', `must be a non-negative integer, got ${JSON.stringify(x.version)}`);
  }
  const clusters: ClusterRoute[] = [];
  if (!Array.isArray(x.clusters)) c.fail('clusters', 'must be an array');
  else {
    x.clusters.forEach((cl, i) => {
      const ok = checkCluster(c, `clusters[${i}]`, cl);
      if (ok) clusters.push(ok);
    });
  }
  // Uniqueness across the whole table: one host, one port, one group name -> one target.
  const hostOwner = new Map<string, string>();
  const portOwner = new Map<number, string>();
  const names = new Map<string, string>();
  const claim = (map: Map<string, string>, key: string, owner: string, what: string): void => {
    const prev = map.get(key);
    if (prev !== undefined) c.fail(owner, `${what} "${key}" is also used by ${prev}`);
    else map.set(key, owner);
  };
  for (const cl of clusters) {
    claim(names, cl.name, `cluster ${cl.name}`, 'name');
    for (const h of cl.hosts) claim(hostOwner, normalizeHost(h), `cluster ${cl.name}`, 'host');
    if (cl.port !== undefined) {
      const prev = portOwner.get(cl.port);
      if (prev !== undefined) c.fail(`cluster ${cl.name}`, `port ${cl.port} is also used by ${prev}`);
      else portOwner.set(cl.port, `cluster ${cl.name}`);
    }
    for (const g of cl.groups) {
      claim(names, g.name, `group ${g.name}`, 'name');
      for (const h of g.hosts) claim(hostOwner, normalizeHost(h), `group ${g.name}`, 'host');
    }
  }
  const trusted: string[] = [];
  if (x.trustedProxies !== undefined) {
    if (!Array.isArray(x.trustedProxies)) c.fail('trustedProxies', 'must be an array of CIDR ranges');
    else {
      x.trustedProxies.forEach((r, i) => {
        const bad = typeof r === 'string' ? cidrProblem(r) : 'must be a CIDR range string';
        const problem = bad === null ? null : `${bad}, got ${JSON.stringify(r)}`;
        if (problem !== null) c.fail(`trustedProxies[${i}]`, problem);
        else trusted.push(r as string);
      });
    }
  }
  if (c.errors.length > 0) return { ok: false, errors: c.errors };
  const table: RouteTable = { version: x.version as number, clusters };
  if (x.trustedProxies !== undefined) table.trustedProxies = trusted;
  return { ok: true, table };
}
