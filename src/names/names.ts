// One standard for every name Kiln makes (ARCHITECTURE.md, "The model"):
//   cluster       <service>-<role>-<env>            web-http-prod
//   server group  <cluster>-v<build>                web-http-prod-v042   (build zero-padded to 3, never wraps)
//   server        <group>-<ordinal>                 web-http-prod-v042-1
// Every name is one DNS label ([a-z0-9-], at most 63 characters), so it is also a host name
// under the project's domain. A name that cannot be formed is a KilnError saying which part is
// too long, raised before anything is created.
import { KilnError } from '../errors.js';

export type ClusterName = string & { readonly __brand: 'ClusterName' };
export type ServerGroupName = string & { readonly __brand: 'ServerGroupName' };
export type ServerName = string & { readonly __brand: 'ServerName' };

export const MAX_LABEL = 63;
const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
/** A part of a name (service, role, environment, project): a label without double dashes at the ends. */
const PART = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Why `part` can't be used in a name, or null if it can. */
export function partProblem(part: string): string | null {
  if (part.length === 0) return 'is empty';
  if (part.length > MAX_LABEL) return `is ${part.length} characters; at most ${MAX_LABEL} fit in a DNS label`;
  if (!PART.test(part)) {
    return 'must be lower-case letters, digits and inner dashes ([a-z0-9-], not starting or ending with -)';
  }
  return null;
}

export function assertPart(kind: string, part: string): void {
  const p = partProblem(part);
  if (p) throw new KilnError('NAME_INVALID', `${kind} name "${part}" ${p}`);
}

export function isDnsLabel(s: string): boolean {
  return s.length > 0 && s.length <= MAX_LABEL && LABEL.test(s);
}

/** "v000", "v042", "v1000": at least three digits, never wrapping. */
export function buildSuffix(build: number): string {
  if (!Number.isInteger(build) || build < 0) throw new Error(`bad build number ${build}`);
  return 'v' + String(build).padStart(3, '0');
}

/** `fixed`: the part Kiln adds (a suffix), shown but never the one the hint says to shorten. */
function tooLong(name: string, parts: Array<[string, string]>, fixed?: [string, string]): KilnError {
  const over = name.length - MAX_LABEL;
  const longest = [...parts].sort((a, b) => b[1].length - a[1].length)[0];
  const which = [...parts, ...(fixed ? [fixed] : [])].map(([k, v]) => `${k} "${v}" (${v.length})`).join(' + ');
  return new KilnError(
    'NAME_INVALID',
    `name "${name}" is ${name.length} characters, ${over} over the ${MAX_LABEL}-character DNS label limit: ${which}`,
    { hint: longest ? `shorten the ${longest[0]} name "${longest[1]}"` : undefined },
  );
}

/**
 * The build number names are checked with: builds past v999 take four digits (v1000), so a
 * cluster that validates can deploy 9999 builds, not only its first thousand.
 */
export const CHECKED_BUILD = 1000;

/**
 * `servers`: the most servers a group of this cluster runs (its replicas, at least 1). The check
 * is made on the longest name the cluster produces within that horizon, `<cluster>-v1000-<servers>`,
 * so a name that validates never fails later, at a deploy, on its 1000th build or its last server.
 */
export function clusterName(service: string, role: string, env: string, servers = 1): ClusterName {
  assertPart('service', service);
  assertPart('role', role);
  assertPart('environment', env);
  const name = `${service}-${role}-${env}`;
  const last = Math.max(1, Math.floor(servers));
  const suffix = `-${buildSuffix(CHECKED_BUILD)}-${last}`;
  const longestServer = `${name}${suffix}`;
  if (longestServer.length > MAX_LABEL) {
    throw tooLong(
      longestServer,
      [
        ['service', service],
        ['role', role],
        ['environment', env],
      ],
      [`suffix of build ${CHECKED_BUILD}, server ${last}`, suffix],
    );
  }
  return name as ClusterName;
}

export function serverGroupName(cluster: ClusterName, build: number): ServerGroupName {
  const name = `${cluster}-${buildSuffix(build)}`;
  if (name.length > MAX_LABEL) throw tooLong(name, [['cluster', cluster], ['build', buildSuffix(build)]]);
  return name as ServerGroupName;
}

export function serverName(group: ServerGroupName, ordinal: number): ServerName {
  if (!Number.isInteger(ordinal) || ordinal < 1) throw new Error(`bad server ordinal ${ordinal}`);
  const name = `${group}-${ordinal}`;
  if (name.length > MAX_LABEL) throw tooLong(name, [['server group', group], ['ordinal', String(ordinal)]]);
  return name as ServerName;
}

/** The name's DNS form under the project's domain: "web-http-prod.shop.test". */
export function fqdn(name: string, domain: string): string {
  return `${name}.${domain}`;
}

/** Splits a group name back into its cluster and build, or null if it is not one. */
export function parseServerGroupName(name: string): { cluster: ClusterName; build: number } | null {
  const m = /^(.+)-v(\d{3,})$/.exec(name);
  if (!m || !m[1] || !m[2]) return null;
  return { cluster: m[1] as ClusterName, build: Number(m[2]) };
}
