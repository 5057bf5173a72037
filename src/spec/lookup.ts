// One way to find an environment, a service or a data store of kiln.yaml by name, and one way to
// say it is not there: `<kind> "<name>" is not defined in <file>`, the flag that named it, and the
// names that are defined (STYLE.md: "X is not in kiln.yaml" was written five ways).
import { KilnError, type KilnErrorCode } from '../errors.js';
import type { DataStoreSpec, EnvironmentSpec, ProjectSpec, ServiceSpec } from './types.js';

function notDefined(code: KilnErrorCode, kind: string, name: string, spec: ProjectSpec, known: string[], section: string, flag?: string): KilnError {
  return new KilnError(code, `${kind} "${name}" is not defined in ${spec.file}`, {
    ...(flag ? { location: { flag } } : {}),
    hint: known.length ? `defined: ${known.sort().join(', ')}` : `kiln.yaml defines none: add it under "${section}:"`,
  });
}

export function environmentOf(spec: ProjectSpec, env: string, flag = '--env'): EnvironmentSpec {
  const e = spec.environments[env];
  if (!e) throw notDefined('ENV_NOT_FOUND', 'environment', env, spec, Object.keys(spec.environments), 'environments', flag);
  return e;
}

export function serviceOf(spec: ProjectSpec, service: string, flag?: string): ServiceSpec {
  const s = spec.services[service];
  if (!s) throw notDefined('SERVICE_NOT_FOUND', 'service', service, spec, Object.keys(spec.services), 'services', flag);
  return s;
}

export function storeOf(spec: ProjectSpec, store: string, flag?: string): DataStoreSpec {
  const s = spec.data[store];
  if (!s) throw notDefined('STORE_NOT_FOUND', 'data store', store, spec, Object.keys(spec.data), 'data', flag);
  return s;
}
