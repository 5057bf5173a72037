// A small client of the Kubernetes API for the objects Kiln manages: get, list by labels,
// server-side apply (fieldManager "kiln"), create, delete, pod logs. It speaks HTTPS with the
// kubeconfig's CA and client certificate or token; nothing else (no kubectl) is needed.
import https from 'node:https';
import { KilnError } from '../../errors.js';
import type { KubeCredentials } from './kubeconfig.js';

export type Kind = 'Deployment' | 'ReplicaSet' | 'Service' | 'Secret' | 'ConfigMap' | 'Pod' | 'EndpointSlice' | 'Namespace' | 'Lease';

const RESOURCES: Record<Kind, { group: string; plural: string; namespaced: boolean }> = {
  Deployment: { group: 'apis/apps/v1', plural: 'deployments', namespaced: true },
  ReplicaSet: { group: 'apis/apps/v1', plural: 'replicasets', namespaced: true },
  Service: { group: 'api/v1', plural: 'services', namespaced: true },
  Secret: { group: 'api/v1', plural: 'secrets', namespaced: true },
  ConfigMap: { group: 'api/v1', plural: 'configmaps', namespaced: true },
  Pod: { group: 'api/v1', plural: 'pods', namespaced: true },
  EndpointSlice: { group: 'apis/discovery.k8s.io/v1', plural: 'endpointslices', namespaced: true },
  Namespace: { group: 'api/v1', plural: 'namespaces', namespaced: false },
  Lease: { group: 'apis/coordination.k8s.io/v1', plural: 'leases', namespaced: true },
};

/** Any object as the API returns it: Kiln reads only what it needs. */
export interface ApiObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string; deletionTimestamp?: string; uid?: string };
  [key: string]: unknown;
}

interface Answer {
  status: number;
  body: string;
}

export class KubeClient {
  private readonly agent: https.Agent;

  constructor(readonly creds: KubeCredentials, readonly namespace: string) {
    this.agent = new https.Agent({
      keepAlive: true,
      ...(creds.ca ? { ca: creds.ca } : {}),
      ...(creds.cert ? { cert: creds.cert } : {}),
      ...(creds.key ? { key: creds.key } : {}),
      rejectUnauthorized: !creds.insecureSkipTlsVerify,
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private path(kind: Kind, name?: string, sub?: string, query?: Record<string, string>): string {
    const r = RESOURCES[kind];
    const ns = r.namespaced ? `/namespaces/${encodeURIComponent(this.namespace)}` : '';
    const q = query && Object.keys(query).length ? `?${new URLSearchParams(query).toString()}` : '';
    return `/${r.group}${ns}/${r.plural}${name ? `/${encodeURIComponent(name)}` : ''}${sub ? `/${sub}` : ''}${q}`;
  }

  private request(method: string, p: string, body?: string, contentType = 'application/json'): Promise<Answer> {
    const url = new URL(this.creds.server + p);
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          method,
          host: url.hostname,
          port: url.port || 443,
          path: url.pathname + url.search,
          agent: this.agent,
          timeout: 30_000,
          headers: {
            accept: 'application/json',
            ...(this.creds.token ? { authorization: `Bearer ${this.creds.token}` } : {}),
            ...(body !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from ${this.creds.server} in 30 s`)));
      req.on('error', (e) =>
        reject(new KilnError('RUNTIME_FAILED', `cannot reach the Kubernetes API at ${this.creds.server}: ${e.message}`, {
          hint: `check the cluster is up and the kubeconfig ${this.creds.source} (context ${this.creds.context})`,
        })),
      );
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  private fail(what: string, a: Answer): KilnError {
    let message = a.body.trim();
    try {
      message = (JSON.parse(a.body) as { message?: string }).message ?? message;
    } catch {
      // not a Status object: keep the raw text
    }
    return new KilnError('RUNTIME_FAILED', `Kubernetes API: ${what}: ${a.status} ${message}`.slice(0, 2000));
  }

  async get<T extends ApiObject = ApiObject>(kind: Kind, name: string): Promise<T | null> {
    const a = await this.request('GET', this.path(kind, name));
    if (a.status === 404) return null;
    if (a.status !== 200) throw this.fail(`get ${kind} ${name}`, a);
    return JSON.parse(a.body) as T;
  }

  async list<T extends ApiObject = ApiObject>(kind: Kind, labels: Record<string, string>): Promise<T[]> {
    const selector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
    const a = await this.request('GET', this.path(kind, undefined, undefined, selector ? { labelSelector: selector } : {}));
    if (a.status !== 200) throw this.fail(`list ${kind} ${selector}`, a);
    return (JSON.parse(a.body) as { items: T[] }).items;
  }

  /** Server-side apply: the object becomes what Kiln says for the fields Kiln owns. */
  async apply<T extends ApiObject = ApiObject>(obj: { kind: string; metadata: { name: string } }, opts: { dryRun?: boolean } = {}): Promise<T> {
    const kind = obj.kind as Kind;
    const query: Record<string, string> = { fieldManager: 'kiln', force: 'true', ...(opts.dryRun ? { dryRun: 'All' } : {}) };
    const a = await this.request('PATCH', this.path(kind, obj.metadata.name, undefined, query), JSON.stringify(obj), 'application/apply-patch+yaml');
    if (a.status !== 200 && a.status !== 201) throw this.fail(`apply ${kind} ${obj.metadata.name}`, a);
    return JSON.parse(a.body) as T;
  }

  /** JSON merge patch (RFC 7386) of a few fields, leaving every other field and its owner alone. */
  async mergePatch<T extends ApiObject = ApiObject>(kind: Kind, name: string, patch: unknown): Promise<T | null> {
    const a = await this.request('PATCH', this.path(kind, name, undefined, { fieldManager: 'kiln' }), JSON.stringify(patch), 'application/merge-patch+json');
    if (a.status === 404) return null;
    if (a.status !== 200) throw this.fail(`patch ${kind} ${name}`, a);
    return JSON.parse(a.body) as T;
  }

  /** Creates the object; false if one of that name exists already. */
  async create(obj: { kind: string; metadata: { name: string } }): Promise<boolean> {
    const kind = obj.kind as Kind;
    const a = await this.request('POST', this.path(kind, undefined, undefined, { fieldManager: 'kiln' }), JSON.stringify(obj));
    if (a.status === 409) return false;
    if (a.status !== 201 && a.status !== 200) throw this.fail(`create ${kind} ${obj.metadata.name}`, a);
    return true;
  }

  /** Replaces an object only if it is still at resourceVersion (optimistic concurrency); false on a conflict. */
  async replace(obj: ApiObject & { kind: string }): Promise<boolean> {
    const a = await this.request('PUT', this.path(obj.kind as Kind, obj.metadata.name), JSON.stringify(obj));
    if (a.status === 409) return false;
    if (a.status !== 200) throw this.fail(`replace ${obj.kind} ${obj.metadata.name}`, a);
    return true;
  }

  /** Deletes; its dependents (ReplicaSets, pods) go in the background. A missing object is not an error. */
  async delete(kind: Kind, name: string, propagation: 'Background' | 'Foreground' = 'Background'): Promise<void> {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: propagation });
    const a = await this.request('DELETE', this.path(kind, name), body);
    if (a.status !== 200 && a.status !== 202 && a.status !== 404) throw this.fail(`delete ${kind} ${name}`, a);
  }

  /**
   * Follows a pod's log (`follow=true`): `onData` gets each piece as it arrives, until the
   * container exits, the pod goes, or `signal` aborts (then it resolves too). No timeout: a quiet
   * server sends nothing for hours. Resolves true when the API ended the log (the container
   * exited), false when it was cut (abort, dropped connection): its last line may be partial.
   * Rejects with the API's message for any answer but 200.
   */
  streamPodLog(pod: string, query: Record<string, string>, onData: (chunk: Buffer) => void, signal: AbortSignal): Promise<boolean> {
    const url = new URL(this.creds.server + this.path('Pod', pod, 'log', { ...query, follow: 'true' }));
    return new Promise((resolve, reject) => {
      if (signal.aborted) return resolve(false);
      const req = https.request(
        {
          method: 'GET',
          host: url.hostname,
          port: url.port || 443,
          path: url.pathname + url.search,
          agent: this.agent,
          headers: { accept: '*/*', ...(this.creds.token ? { authorization: `Bearer ${this.creds.token}` } : {}) },
        },
        (res) => {
          if (res.statusCode !== 200) {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => reject(this.fail(`log of pod ${pod}`, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })));
            return;
          }
          res.on('data', onData);
          res.on('end', () => resolve(res.complete));
          // An abort (or a dropped connection) ends the stream; the caller resumes from its cursor.
          res.on('error', () => resolve(false));
          res.on('aborted', () => resolve(false));
        },
      );
      const abort = (): void => {
        req.destroy();
        resolve(false);
      };
      signal.addEventListener('abort', abort, { once: true });
      req.on('close', () => signal.removeEventListener('abort', abort));
      req.on('error', (e) => (signal.aborted ? resolve(false) : reject(new KilnError('RUNTIME_FAILED', `cannot follow the log of pod ${pod}: ${e.message}`))));
      req.end();
    });
  }

  /** The last lines a pod's container wrote to stdout/stderr ('' when it has none yet). */
  async podLog(pod: string, tailLines = 20, previous = false): Promise<string> {
    const a = await this.request('GET', this.path('Pod', pod, 'log', { tailLines: String(tailLines), ...(previous ? { previous: 'true' } : {}) }));
    if (a.status !== 200) return '';
    return a.body;
  }
}
