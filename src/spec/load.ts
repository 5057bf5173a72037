// kiln.yaml -> ProjectSpec. Parsing, shape and cross-references are checked in one pass and every
// problem is thrown together as KilnErrors with file:line:column; nothing downstream re-validates.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { KilnError } from '../errors.js';
import { Locator } from './locate.js';
import { Problems } from './problems.js';
import { projectSchema, type RawProject } from './schema.js';
import { checkSemantics } from './semantics.js';
import type { CanarySpec, FlagMap, OsSpec, ProjectSpec, RoleSpec, ServiceSpec } from './types.js';
import { validateDocument } from './validate.js';

export { SPEC_FILE, findSpecFile } from './find.js';

/** Reads and validates a kiln.yaml; throws KilnErrors listing every problem found. */
export function loadSpec(file: string): ProjectSpec {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new KilnError('SPEC_NOT_FOUND', `cannot read ${abs}: ${code ?? String(e)}`, { location: { file: abs } });
  }
  return parseSpec(text, abs);
}

/** Validates kiln.yaml text as if read from `file` (paths resolve from its directory). */
export function parseSpec(text: string, file: string): ProjectSpec {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const problems = new Problems(abs, lines);
  for (const e of doc.errors) {
    const message =
      e.code === 'DUPLICATE_KEY'
        ? `duplicate key ${keyAt(text, e.pos[0])}: each key may appear once in a mapping`
        : `YAML syntax: ${e.message}`;
    problems.atOffset(e.pos[0], message);
  }
  // A syntax error makes the tree unreliable: report only what the parser found. A duplicate
  // key leaves a sound tree, so the rest of the file is still checked.
  if (doc.errors.some((e) => e.code !== 'DUPLICATE_KEY')) problems.throwIfAny();
  const raw = validateDocument(projectSchema, doc, problems);
  if (raw) checkSemantics(raw, dir, new Locator(doc), problems);
  problems.throwIfAny();
  // No problems: the validator left nothing out, so the value has the full schema shape.
  return toProjectSpec(raw as RawProject, abs, dir);
}

/** The key written at `offset`, quoted, for messages ("replicas" in `replicas: 2`). */
function keyAt(text: string, offset: number): string {
  const key = /^[^:\n]*/.exec(text.slice(offset))?.[0].trim().replace(/^["']|["']$/g, '') ?? '';
  return key ? `"${key}"` : '';
}

/** "./apps/api/" -> "apps/api": one spelling per path, so manifests and diffs are stable. */
function cleanRel(p: string): string {
  const n = path.posix.normalize(p.replaceAll('\\', '/'));
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

type RawCanary = NonNullable<NonNullable<RawProject['services'][string]['roles'][string]['strategy']>['canary']>;

function canarySpec(c: RawCanary): CanarySpec {
  const g = c.gates;
  return {
    steps: c.steps.map((s) => ({ weight: s.weight, ...(s.for !== undefined ? { forMs: s.for } : {}), ...(s.pause ? { pause: s.pause } : {}) })),
    gates: {
      minRequests: g['min-requests'],
      max5xxIncrease: g['max-5xx-increase'],
      maxP99Ratio: g['max-p99-ratio'],
      p99FloorMs: g['p99-floor'],
      warmupMs: g.warmup,
      ...(g.prometheus ? { prometheus: { ...g.prometheus } } : {}),
    },
  };
}

function toProjectSpec(raw: RawProject, file: string, dir: string): ProjectSpec {
  const services: Record<string, ServiceSpec> = {};
  for (const [name, s] of Object.entries(raw.services)) {
    const roles: Record<string, RoleSpec> = {};
    for (const [roleName, r] of Object.entries(s.roles)) {
      roles[roleName] = {
        name: roleName,
        replicas: r.replicas,
        ...(r.port !== undefined ? { port: r.port } : {}),
        ...(r.settle !== undefined ? { settleMs: r.settle } : {}),
        ...(r.health
          ? {
              health: {
                path: r.health.path,
                intervalMs: r.health.interval,
                timeoutMs: r.health.timeout,
                retries: r.health.retries,
                graceMs: r.health.grace,
                ...(r.health['crash-loop']
                  ? {
                      crashLoop: {
                        windowMs: r.health['crash-loop'].window,
                        minFailures: r.health['crash-loop'].failures,
                        initialBackoffMs: r.health['crash-loop'].backoff.initial,
                        maxBackoffMs: r.health['crash-loop'].backoff.max,
                      },
                    }
                  : {}),
              },
            }
          : {}),
        flags: r.flags as FlagMap,
        ...(r.args !== undefined ? { args: r.args } : {}),
        ...(r.strategy?.canary ? { canary: canarySpec(r.strategy.canary) } : {}),
      };
    }
    services[name] = {
      name,
      ...(s.os !== undefined ? { os: s.os } : {}),
      app: {
        path: cleanRel(s.app.path),
        ...(s.app.build ? { build: s.app.build } : {}),
        ...(s.app.output !== undefined ? { output: cleanRel(s.app.output) } : {}),
        run: s.app.run,
        exclude: s.app.exclude,
        ...(s.app['build-in'] === 'host' ? { buildIn: 'host' as const } : {}),
        buildEnv: Object.fromEntries(Object.entries(s.app['build-env']).map(([k, v]) => [k, String(v)])),
      },
      roles,
      flags: s.flags as FlagMap,
      flagsStyle: s['flags-style'],
      args: s.args,
    };
  }
  const os: Record<string, OsSpec> = {};
  for (const [name, o] of Object.entries(raw.os)) {
    os[name] =
      'debian' in o
        ? { name, kind: 'debian', ...o.debian }
        : { name, kind: 'import', from: o.import };
  }
  return {
    file,
    dir,
    project: raw.project,
    domain: raw.domain ?? `${raw.project}.test`,
    proxy: {
      engine: raw.proxy.engine,
      haproxy: raw.proxy.haproxy,
      host: raw.proxy.host,
      port: raw.proxy.port,
      tunnelIdleTimeoutMs: raw.proxy['tunnel-idle-timeout'],
      ...(raw.proxy['trusted-proxies'].length > 0 ? { trustedProxies: raw.proxy['trusted-proxies'] } : {}),
    },
    ...(raw.metrics ? { metrics: { host: raw.metrics.host, port: raw.metrics.port, proxyPort: raw.metrics['proxy-port'], allowPublic: raw.metrics['allow-public'] } } : {}),
    dns: { host: raw.dns.host, port: raw.dns.port, rateLimit: raw.dns['rate-limit'] },
    logs: {
      retention: {
        // 0 turns a bound off (both 0: the store is never pruned).
        ...(raw.logs.retention['max-age'] > 0 ? { maxAgeMs: raw.logs.retention['max-age'] } : {}),
        ...(raw.logs.retention['max-size-mb'] > 0 ? { maxBytes: raw.logs.retention['max-size-mb'] * 1024 * 1024 } : {}),
      },
      export: {
        ...(raw.logs.export.otlp !== undefined ? { otlp: raw.logs.export.otlp } : {}),
        ...(raw.logs.export.loki !== undefined ? { loki: raw.logs.export.loki } : {}),
      },
    },
    os,
    data: Object.fromEntries(
      Object.entries(raw.data).map(([name, d]) => [name, { name, engine: d.engine, changelog: cleanRel(d.changelog), ...(d['lock-wait'] !== undefined ? { lockWaitMs: d['lock-wait'] } : {}) }]),
    ),
    services,
    environments: Object.fromEntries(
      Object.entries(raw.environments).map(([name, e]) => [
        name,
        {
          name,
          runtime: e.runtime,
          ...(e.podman
            ? {
                podman: {
                  ulimits: e.podman.ulimits,
                  ...(e.podman['oci-runtime'] !== undefined ? { ociRuntime: e.podman['oci-runtime'] } : {}),
                  ...(e.podman.network !== undefined ? { network: e.podman.network } : {}),
                  ...(e.podman['containers-conf'] !== undefined ? { containersConf: path.resolve(dir, e.podman['containers-conf']) } : {}),
                  ...(e.podman['stop-timeout'] !== undefined ? { stopTimeoutMs: e.podman['stop-timeout'] } : {}),
                },
              }
            : {}),
          ...(e.kubernetes
            ? {
                kubernetes: {
                  namespace: e.kubernetes.namespace,
                  runAsUser: e.kubernetes['run-as-user'],
                  ...(e.kubernetes.kubeconfig !== undefined ? { kubeconfig: path.resolve(dir, e.kubernetes.kubeconfig) } : {}),
                  ...(e.kubernetes.context !== undefined ? { context: e.kubernetes.context } : {}),
                  ...(e.kubernetes.registry !== undefined ? { registry: e.kubernetes.registry } : {}),
                  ...(e.kubernetes['registry-cert-dir'] !== undefined ? { registryCertDir: path.resolve(dir, e.kubernetes['registry-cert-dir']) } : {}),
                },
              }
            : {}),
          ...(e.maintenance
            ? { maintenance: { retryAfterMs: e.maintenance['retry-after'], ...(e.maintenance.page !== undefined ? { page: path.resolve(dir, e.maintenance.page) } : {}) } }
            : {}),
          scale: e.scale,
          flags: e.flags as Record<string, FlagMap>,
          args: e.args,
          ...(Object.keys(e.data).length ? { data: Object.fromEntries(
            Object.entries(e.data).map(([store, b]) => [
              store,
              {
                ...(b.engine !== undefined ? { engine: b.engine } : {}),
                // "${secret.orders_url}" -> "orders_url"; the schema admits only that form.
                ...(b.url !== undefined ? { urlSecret: b.url.slice('${secret.'.length, -1) } : {}),
                ...(b.path !== undefined ? { path: cleanRel(b.path) } : {}),
              },
            ]),
          ) } : {}),
        },
      ]),
    ),
  };
}
