// Checks that need more than one key: references between sections (a service's OS base, an
// environment's services and roles, `${...}` in flags), cluster names that must be formable,
// and paths that must exist. They run on the validator's partial result, so a spec with a
// typo in one place still gets every other problem reported.
import { statSync } from 'node:fs';
import path from 'node:path';
import { KilnError } from '../errors.js';
import { clusterName } from '../names/names.js';
import { FLAG_REFERENCE_FORMS, parseFlagTemplate, resolveClusterTarget } from './flagref.js';
import type { Locator } from './locate.js';
import { checkListeners } from './listeners.js';
import { allowedHint, type Problems } from './problems.js';
import type { RawProject } from './schema.js';
import type { Loose } from './validate.js';

type Project = Loose<RawProject>;
type Service = NonNullable<NonNullable<Project['services']>[string]>;
type FlagMapLoose = Record<string, string | number | boolean | undefined>;

interface Ctx {
  spec: Project;
  dir: string;
  at: Locator;
  problems: Problems;
}

export function checkSemantics(spec: Project, dir: string, at: Locator, problems: Problems): void {
  const ctx: Ctx = { spec, dir, at, problems };
  const services = spec.services ?? {};
  for (const [name, service] of Object.entries(services)) {
    if (service) checkService(ctx, name, service);
  }
  checkClusterCollisions(ctx);
  checkListeners(spec, at, problems);
  for (const [env, e] of Object.entries(spec.environments ?? {})) {
    if (!e) continue;
    checkClusterNames(ctx, env);
    checkRuntimeSettings(ctx, env, e);
    for (const [svc, roles] of Object.entries(e.scale ?? {})) {
      const service = knownService(ctx, svc, ['environments', env, 'scale', svc]);
      if (!service) continue;
      for (const role of Object.keys(roles ?? {})) {
        knownRole(ctx, svc, service, role, ['environments', env, 'scale', svc, role]);
      }
    }
    for (const [svc, flags] of Object.entries(e.flags ?? {})) {
      const service = knownService(ctx, svc, ['environments', env, 'flags', svc]);
      if (service) checkFlags(ctx, svc, null, flags ?? {}, ['environments', env, 'flags', svc]);
    }
    for (const [svc, args] of Object.entries(e.args ?? {})) {
      const service = knownService(ctx, svc, ['environments', env, 'args', svc]);
      if (service) checkArgs(ctx, svc, null, args ?? [], ['environments', env, 'args', svc]);
    }
    checkDataBindings(ctx, env, e.data ?? {});
  }
}

type Environment = NonNullable<NonNullable<Project['environments']>[string]>;

/** A runtime that needs settings has them; settings of another runtime are a likely mistake. */
function checkRuntimeSettings(ctx: Ctx, env: string, e: Environment): void {
  const runtime = e.runtime ?? 'process';
  if (runtime === 'kubernetes' && !e.kubernetes) {
    ctx.problems.at(ctx.at.key(['environments', env, 'runtime']), `environment "${env}" runs on kubernetes but has no kubernetes: settings`, 'add environments.' + env + '.kubernetes: { namespace: <namespace> } (and kubeconfig, context, registry as needed)');
  }
  if (e.kubernetes && runtime !== 'kubernetes') {
    ctx.problems.at(ctx.at.key(['environments', env, 'kubernetes']), `environment "${env}" has kubernetes: settings but runs on ${runtime}`, `set environments.${env}.runtime: kubernetes, or remove the kubernetes: block`);
  }
}

type Bindings = NonNullable<NonNullable<NonNullable<Project['environments']>[string]>['data']>;

/** Each binding names a defined store, and gives what its engine needs (and nothing else). */
function checkDataBindings(ctx: Ctx, env: string, bindings: Bindings): void {
  const stores = ctx.spec.data ?? {};
  for (const [store, b] of Object.entries(bindings)) {
    const at = ['environments', env, 'data', store];
    if (!Object.hasOwn(stores, store)) {
      const known = Object.keys(stores);
      ctx.problems.at(ctx.at.key(at), `environments.${env}.data names data store "${store}", which is not defined under data`, known.length ? allowedHint(store, known) : 'add it under "data:"');
      continue;
    }
    if (!b) continue;
    const engine = b.engine ?? stores[store]?.engine ?? 'sqlite';
    if (engine === 'postgres' && b.path !== undefined) {
      ctx.problems.at(ctx.at.key([...at, 'path']), `environments.${env}.data.${store}: "path" is for SQLite; this store is PostgreSQL here`, 'remove "path" and give "url: ${secret.<name>}"');
    }
    if (engine === 'sqlite' && b.url !== undefined) {
      ctx.problems.at(ctx.at.key([...at, 'url']), `environments.${env}.data.${store}: "url" is for PostgreSQL; this store is SQLite here`, 'set "engine: postgres" or remove "url"');
    }
  }
}

type Role = NonNullable<NonNullable<Service['roles']>[string]>;

/** A canary needs a load balancer to split, and each step exactly one way to end, weights rising. */
function checkCanary(ctx: Ctx, service: string, role: string, r: Role, base: string[]): void {
  const canary = r.strategy?.canary;
  if (!canary) return;
  const where = `services.${service}.roles.${role}.strategy.canary`;
  if (r.port === undefined) {
    ctx.problems.at(ctx.at.key([...base, 'strategy']), `${where}: a canary splits the role's traffic, but the role has no port`, 'add a port (e.g. "port: http") or remove "strategy"');
  }
  let previous = 0;
  (canary.steps ?? []).forEach((step, i) => {
    if (!step) return;
    const at = ctx.at.value([...base, 'strategy', 'canary', 'steps', String(i)]);
    if ((step.for === undefined) === (step.pause === undefined)) {
      ctx.problems.at(at, `${where}.steps[${i}] needs exactly one of "for" and "pause"`, 'e.g. { weight: 10%, for: 2m } or { weight: 50%, pause: manual }');
    }
    if (step.weight !== undefined) {
      if (step.weight <= previous) {
        ctx.problems.at(at, `${where}.steps[${i}] has weight ${step.weight}%, not above the previous step's ${previous}%`, 'give the steps rising weights; after the last step the new group takes 100%');
      }
      previous = step.weight;
    }
  });
}

function checkService(ctx: Ctx, name: string, service: Service): void {
  const base = ['services', name];
  const os = ctx.spec.os ?? {};
  if (service.os !== undefined && !Object.hasOwn(os, service.os)) {
    const defined = Object.keys(os);
    ctx.problems.at(
      ctx.at.value([...base, 'os']),
      `services.${name}.os names OS base "${service.os}", which is not defined under os`,
      defined.length ? allowedHint(service.os, defined) : 'add it under "os:" or remove the key',
    );
  }
  if (service.app?.path !== undefined) checkAppPath(ctx, service.app.path, [...base, 'app', 'path']);
  for (const [role, r] of Object.entries(service.roles ?? {})) {
    if (!r) continue;
    if (r.health !== undefined && r.port === undefined) {
      ctx.problems.at(
        ctx.at.key([...base, 'roles', role, 'health']),
        `services.${name}.roles.${role} has a health check but no port to check`,
        'add a port (e.g. "port: http") or remove "health"',
      );
    }
    if (r.settle !== undefined && r.health !== undefined) {
      ctx.problems.at(
        ctx.at.key([...base, 'roles', role, 'settle']),
        `services.${name}.roles.${role} has both a health check and "settle": a server with a health check is started when it passes`,
        'remove "settle" (the health check decides), or remove "health"',
      );
    }
    const loop = typeof r.health === 'object' ? r.health['crash-loop'] : undefined;
    if (loop?.window === 0) {
      ctx.problems.at(
        ctx.at.value([...base, 'roles', role, 'health', 'crash-loop', 'window']),
        `services.${name}.roles.${role}.health.crash-loop.window is 0: no failure would ever count`,
        'use a window of a few times the time a bad build takes to die, e.g. 60s',
      );
    }
    const backoff = loop?.backoff;
    if (backoff?.initial !== undefined && backoff.max !== undefined && backoff.initial > backoff.max) {
      const at = [...base, 'roles', role, 'health', 'crash-loop', 'backoff'];
      ctx.problems.at(
        ctx.at.value([...at, 'initial']) ?? ctx.at.key(at),
        `services.${name}.roles.${role}.health.crash-loop.backoff.initial (${backoff.initial} ms) is longer than backoff.max (${backoff.max} ms)`,
        'make initial at most max (e.g. initial: 500ms, max: 30s)',
      );
    }
    checkCanary(ctx, name, role, r, [...base, 'roles', role]);
    checkFlags(ctx, name, role, r.flags ?? {}, [...base, 'roles', role, 'flags']);
    checkArgs(ctx, name, role, r.args ?? [], [...base, 'roles', role, 'args']);
  }
  checkFlags(ctx, name, null, service.flags ?? {}, [...base, 'flags']);
  checkArgs(ctx, name, null, service.args ?? [], [...base, 'args']);
}

function checkAppPath(ctx: Ctx, rel: string, at: string[]): void {
  const abs = path.resolve(ctx.dir, rel);
  // A NUL, an over-long name or an unreadable directory is a problem in kiln.yaml, not a crash.
  let stat: ReturnType<typeof statSync>;
  let why = 'does not exist';
  try {
    stat = rel.includes('\0') ? undefined : statSync(abs, { throwIfNoEntry: false });
    if (rel.includes('\0')) why = 'contains a NUL character';
  } catch (e) {
    why = `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  if (!stat?.isDirectory()) {
    ctx.problems.at(
      ctx.at.value(at),
      `${at.join('.')} "${rel.replaceAll('\0', '\\0')}" ${stat ? 'is not a directory' : why} (looked for ${abs.replaceAll('\0', '\\0')})`,
      'app.path is relative to the directory of kiln.yaml',
    );
  }
}

function knownService(ctx: Ctx, svc: string, at: string[]): Service | null {
  const services = ctx.spec.services ?? {};
  const service = services[svc];
  if (service) return service;
  if (!Object.hasOwn(services, svc)) {
    ctx.problems.at(ctx.at.key(at), `${at.slice(0, -1).join('.')} names service "${svc}", which is not defined`, allowedHint(svc, Object.keys(services)));
  }
  return null;
}

function knownRole(ctx: Ctx, svc: string, service: Service, role: string, at: string[]): void {
  const roles = Object.keys(service.roles ?? {});
  if (!roles.includes(role)) {
    ctx.problems.at(ctx.at.key(at), `${at.slice(0, -1).join('.')} names role "${role}", which service "${svc}" does not have`, allowedHint(role, roles));
  }
}

/**
 * Every cluster of the environment must have names that fit in a DNS label: the longest one it
 * produces is its last server (the environment's replicas) of a build past v999.
 */
function checkClusterNames(ctx: Ctx, env: string): void {
  const seen = new Set<string>();
  const scale = ctx.spec.environments?.[env]?.scale ?? {};
  for (const [svc, service] of Object.entries(ctx.spec.services ?? {})) {
    for (const [role, r] of Object.entries(service?.roles ?? {})) {
      const replicas = scale[svc]?.[role] ?? r?.replicas ?? 1;
      try {
        clusterName(svc, role, env, typeof replicas === 'number' ? replicas : 1);
      } catch (e) {
        if (!(e instanceof KilnError)) throw e;
        if (seen.has(e.message)) continue;
        seen.add(e.message);
        ctx.problems.at(
          ctx.at.key(['environments', env]),
          `environment "${env}": cannot name the cluster of service "${svc}", role "${role}": ${e.message}`,
          e.hint,
        );
      }
    }
  }
}

/** "a-b" + "c" and "a" + "b-c" would share every cluster name; that must not load. */
function checkClusterCollisions(ctx: Ctx): void {
  const owners = new Map<string, string>();
  for (const [svc, service] of Object.entries(ctx.spec.services ?? {})) {
    for (const role of Object.keys(service?.roles ?? {})) {
      const key = `${svc}-${role}`;
      const other = owners.get(key);
      if (other) {
        ctx.problems.at(
          ctx.at.key(['services', svc, 'roles', role]),
          `service "${svc}" role "${role}" gives the same cluster names (${key}-<env>) as ${other}`,
          'rename the service or the role',
        );
      } else {
        owners.set(key, `service "${svc}" role "${role}"`);
      }
    }
  }
}

/**
 * Checks the `${...}` references of one flag map. `role` is null for service-wide and
 * environment flags, which reach every role of the service.
 */
function checkFlags(ctx: Ctx, svc: string, role: string | null, flags: FlagMapLoose, base: string[]): void {
  for (const [flag, value] of Object.entries(flags)) {
    if (typeof value === 'string') checkTemplate(ctx, svc, role, value, [...base, flag]);
  }
}

/** Positional arguments take the same references as flag values. */
function checkArgs(ctx: Ctx, svc: string, role: string | null, args: Array<string | undefined>, base: string[]): void {
  args.forEach((a, i) => {
    if (typeof a === 'string') checkTemplate(ctx, svc, role, a, [...base, String(i)]);
  });
}

/** The `${...}` references of one flag value or argument at `keys`. */
function checkTemplate(ctx: Ctx, svc: string, role: string | null, value: string, keys: string[]): void {
  const at = ctx.at.value(keys);
  const where = keys.join('.');
  const parsed = parseFlagTemplate(value);
  if (!parsed.ok) {
    ctx.problems.at(at, `${where}: ${parsed.error}`, `known forms: ${FLAG_REFERENCE_FORMS.join(', ')}; write $$ for a literal $`);
    return;
  }
  for (const part of parsed.parts) {
    if (!('ref' in part)) continue;
    const ref = part.ref;
    if (ref.kind === 'port') checkPortRef(ctx, svc, role, at, where);
    else if (ref.kind === 'cluster') checkClusterRef(ctx, ref.target, part.source, at, where);
    else if (ref.kind === 'data') {
      const stores = Object.keys(ctx.spec.data ?? {});
      if (!stores.includes(ref.store)) {
        ctx.problems.at(
          at,
          `${where}: ${part.source} names data store "${ref.store}", which is not defined under data`,
          stores.length ? allowedHint(ref.store, stores) : 'add it under "data:"',
        );
      }
    }
  }
}

function checkPortRef(ctx: Ctx, svc: string, role: string | null, at: ReturnType<Locator['value']>, where: string): void {
  const roles = ctx.spec.services?.[svc]?.roles ?? {};
  const portless = Object.entries(roles)
    .filter(([r, spec]) => (role === null || r === role) && spec && spec.port === undefined)
    .map(([r]) => r);
  if (portless.length) {
    ctx.problems.at(
      at,
      `${where}: \${port} is used by role${portless.length > 1 ? 's' : ''} ${portless.join(', ')} of service "${svc}", which ${portless.length > 1 ? 'have' : 'has'} no port`,
      role === null ? 'move the flag to the flags of the roles that have a port' : 'add a port to the role or remove the flag',
    );
  }
}

function checkClusterRef(ctx: Ctx, target: string, source: string, at: ReturnType<Locator['value']>, where: string): void {
  const services = ctx.spec.services ?? {};
  const found = resolveClusterTarget(target, services)[0];
  const withPort = Object.entries(services).flatMap(([s, spec]) =>
    Object.entries(spec?.roles ?? {})
      .filter(([, r]) => r?.port !== undefined)
      .map(([r]) => `${s}-${r}`),
  );
  if (!found) {
    ctx.problems.at(
      at,
      `${where}: ${source} does not name a service and role ("<service>-<role>")`,
      withPort.length ? allowedHint(target, withPort) : 'no role has a port to connect to',
    );
    return;
  }
  if (services[found.service]?.roles?.[found.role]?.port === undefined) {
    ctx.problems.at(
      at,
      `${where}: ${source} names role "${found.role}" of service "${found.service}", which has no port to connect to`,
      withPort.length ? `roles with a port: ${withPort.join(', ')}` : 'give the role a port',
    );
  }
}
