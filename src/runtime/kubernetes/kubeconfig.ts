// Reads a kubeconfig the way kubectl does for the parts Kiln needs: one context's server, its CA,
// and a client certificate or a bearer token (inline *-data or files, files relative to the
// kubeconfig). Exec plugins and auth providers are not supported: a clear error says so.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { KilnError } from '../../errors.js';

export interface KubeCredentials {
  /** https://host:port of the apiserver. */
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  insecureSkipTlsVerify?: boolean;
  /** Where they were read from, for messages. */
  source: string;
  context: string;
}

interface RawConfig {
  clusters?: Array<{ name: string; cluster?: Record<string, unknown> }>;
  users?: Array<{ name: string; user?: Record<string, unknown> }>;
  contexts?: Array<{ name: string; context?: { cluster?: string; user?: string } }>;
  'current-context'?: string;
}

/** The kubeconfig path kubectl would use: the given one, else $KUBECONFIG's first, else ~/.kube/config. */
export function kubeconfigPath(given?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (given) return given;
  const first = env['KUBECONFIG']?.split(path.delimiter).find(Boolean);
  return first ?? path.join(os.homedir(), '.kube', 'config');
}

function bad(file: string, message: string, hint?: string): KilnError {
  return new KilnError('INPUT_INVALID', `kubeconfig ${message}`, { location: { file }, ...(hint ? { hint } : {}) });
}

function material(file: string, entry: Record<string, unknown>, key: string): Buffer | undefined {
  const data = entry[`${key}-data`];
  if (typeof data === 'string') return Buffer.from(data, 'base64');
  const ref = entry[key];
  if (typeof ref !== 'string') return undefined;
  const p = path.resolve(path.dirname(file), ref);
  try {
    return fs.readFileSync(p);
  } catch (e) {
    throw bad(file, `cannot read ${key} ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function loadKubeconfig(file: string, context?: string): KubeCredentials {
  let raw: RawConfig;
  try {
    raw = (parse(fs.readFileSync(file, 'utf8')) ?? {}) as RawConfig;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw bad(file, code === 'ENOENT' ? 'does not exist' : `cannot be read: ${(e as Error).message}`, 'set environments.<env>.kubernetes.kubeconfig in kiln.yaml, or KUBECONFIG');
  }
  const name = context ?? raw['current-context'];
  if (!name) throw bad(file, 'has no current-context', 'set environments.<env>.kubernetes.context in kiln.yaml');
  const ctx = raw.contexts?.find((c) => c.name === name)?.context;
  if (!ctx) throw bad(file, `has no context "${name}"`, `contexts: ${(raw.contexts ?? []).map((c) => c.name).join(', ') || 'none'}`);
  const cluster = raw.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster || typeof cluster['server'] !== 'string') throw bad(file, `context "${name}" names cluster "${ctx.cluster}", which has no server`);
  const user = (raw.users?.find((u) => u.name === ctx.user)?.user ?? {}) as Record<string, unknown>;
  if (user['exec'] || user['auth-provider']) {
    throw bad(file, `user "${ctx.user}" authenticates through an exec plugin or auth provider, which Kiln does not run`, 'give Kiln a kubeconfig with a client certificate or a token (e.g. a ServiceAccount token)');
  }
  const token = typeof user['token'] === 'string' ? user['token'] : typeof user['tokenFile'] === 'string' ? fs.readFileSync(path.resolve(path.dirname(file), user['tokenFile']), 'utf8').trim() : undefined;
  const creds: KubeCredentials = { server: cluster['server'].replace(/\/+$/, ''), source: file, context: name };
  const ca = material(file, cluster, 'certificate-authority');
  const cert = material(file, user, 'client-certificate');
  const key = material(file, user, 'client-key');
  if (ca) creds.ca = ca;
  if (cert) creds.cert = cert;
  if (key) creds.key = key;
  if (token) creds.token = token;
  if (cluster['insecure-skip-tls-verify'] === true) creds.insecureSkipTlsVerify = true;
  if (!creds.token && !(creds.cert && creds.key)) throw bad(file, `user "${ctx.user}" has neither a client certificate and key nor a token`);
  return creds;
}
