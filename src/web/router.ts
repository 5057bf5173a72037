// The dashboard's pages on the control plane's TCP listener (the API keeps /v1/). Every page but
// the login form needs a session; every POST needs the session's CSRF token and an Origin of this
// listener; every answer carries the security headers (headers.ts). Pages are rendered here from
// the host (host.ts); the live parts are the API's SSE streams, followed by app.js.
import type http from 'node:http';
import { KilnError, formatError } from '../errors.js';
import { readBodyLimited } from '../util/read-body.js';
import { logsQuery } from '../logs/query-args.js';
import { asset } from './assets.js';
import { securityHeaders } from './headers.js';
import { html, type Html } from './html.js';
import type { CanaryInfo, DashboardHost } from './host.js';
import { page } from './layout.js';
import { CLEAR_COOKIE, csrfMatches, loopbackHost, sameOrigin, sessionCookie, Sessions, type Session } from './session.js';
import { loginPage } from './pages/login.js';
import { environmentsBody } from './pages/environments.js';
import { clustersFragment, environmentBody } from './pages/environment.js';
import { timelineBody, timelineFragment } from './pages/timeline.js';
import { diffBody, releaseBody, releasesBody } from './pages/releases.js';
import { LOG_FIELDS, logsBody, type LogForm } from './pages/logs.js';
import { confirmDeployBody, confirmRollbackBody } from './pages/confirm.js';
import { streamProgress } from './progress.js';
import { confirmRolloutBody } from './pages/canary.js';
import { ROLLOUT_ACTIONS, type RolloutAction } from '../server/rollout.js';

const MAX_FORM = 64 * 1024;

export class Dashboard {
  readonly sessions = new Sessions();
  constructor(private readonly host: DashboardHost) {}

  /** Whether `req` is for the dashboard (anything that is not the API). */
  owns(url: URL): boolean {
    return !url.pathname.startsWith('/v1/');
  }

  /**
   * A session for an API call made by a dashboard page (the live streams): GETs need the cookie,
   * POSTs also the X-Kiln-CSRF header and a same-origin Origin. 'forbidden': a session without those.
   */
  apiSession(req: http.IncomingMessage): Session | 'forbidden' | undefined {
    if (!loopbackHost(req)) return undefined;
    const s = this.sessions.of(req);
    if (!s) return undefined;
    if (req.method === 'GET' || req.method === 'HEAD') return s;
    const h = req.headers['x-kiln-csrf'];
    return sameOrigin(req) && csrfMatches(s, Array.isArray(h) ? h[0] : h) ? s : 'forbidden';
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    securityHeaders(res);
    // A DNS name rebound to 127.0.0.1 is not this listener's name: nothing is served to it.
    if (!loopbackHost(req)) return this.plain(res, 421, 'this dashboard answers on its loopback address only');
    const p = url.pathname;
    if (req.method === 'GET' && p.startsWith('/assets/')) return this.asset(req, res, p.slice('/assets/'.length));
    if (req.method === 'GET' && p === '/') return this.redirect(res, '/ui/');
    if (p === '/ui/login') return this.login(req, res);
    const session = this.sessions.of(req);
    if (!session) {
      req.resume();
      return req.method === 'GET' ? this.redirect(res, '/ui/login') : this.plain(res, 401, 'log in first');
    }
    res.setHeader('cache-control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'POST') return this.plain(res, 405, 'GET or POST only');
    try {
      if (req.method === 'GET') return await this.get(res, p, url.searchParams, session);
      const form = await this.form(req);
      // A page of another site cannot read the token; without this a forged POST is refused here.
      if (!sameOrigin(req) || !csrfMatches(session, form.get('csrf') ?? undefined)) return this.plain(res, 403, 'refused: this request did not come from a dashboard page (CSRF token or Origin wrong)');
      return await this.post(res, p, form, session);
    } catch (e) {
      if (!(e instanceof KilnError)) throw e;
      return this.send(res, 400, page({ title: 'Error', project: this.host.project(), session, body: html`<p class="error" role="alert">${formatError(e)}</p><p><a href="/ui/">Back</a></p>` }));
    }
  }

  private async get(res: http.ServerResponse, p: string, q: URLSearchParams, session: Session): Promise<void> {
    const h = this.host;
    const project = h.project();
    const show = (title: string, body: Html, liveEnv?: string): void => this.send(res, 200, page({ title, project, session, body, ...(liveEnv !== undefined ? { liveEnv } : {}) }));
    const fragment = q.get('fragment');
    let m: RegExpExecArray | null;
    if (p === '/ui/') {
      const status = await h.status();
      const body = environmentsBody(h.environments(), status, (env) => h.deployments(env, 1)[0]);
      return fragment ? this.send(res, 200, body) : show('Environments', body, '');
    }
    if ((m = /^\/ui\/env\/([a-z0-9-]+)$/.exec(p))) {
      const env = this.env(m[1]!);
      const status = await h.status(env);
      const canaries = h.canaries(env);
      if (fragment === 'clusters') return this.send(res, 200, clustersFragment(status, env, canaries));
      return show(env, environmentBody(status, env, h.releases(), canaries), env);
    }
    if ((m = /^\/ui\/env\/([a-z0-9-]+)\/timeline$/.exec(p))) {
      const env = this.env(m[1]!);
      const [deployments, events] = [h.deployments(env, 50), h.events(env, 100)];
      const tail = (id: number) => h.failureTail(id, 10);
      if (fragment === 'timeline') return this.send(res, 200, timelineFragment(deployments, events, tail));
      return show(`${env}: timeline`, timelineBody(env, deployments, events, tail), env);
    }
    if ((m = /^\/ui\/env\/([a-z0-9-]+)\/deploy$/.exec(p))) {
      const env = this.env(m[1]!);
      const release = q.get('release') ?? '';
      const canary = q.get('canary') === '1';
      return show(`Deploy ${release} to ${env}${canary ? ' as a canary' : ''}?`, confirmDeployBody(env, release, await h.deployPlan(env, release), session.csrf, canary));
    }
    if ((m = /^\/ui\/env\/([a-z0-9-]+)\/rollback$/.exec(p))) {
      const env = this.env(m[1]!);
      return show(`Roll back ${env}?`, confirmRollbackBody(env, h.rollbackPlan(env), session.csrf));
    }
    if ((m = /^\/ui\/env\/([a-z0-9-]+)\/rollout$/.exec(p))) {
      const env = this.env(m[1]!);
      const { canary, action } = this.canary(env, q);
      return show(`${action[0]!.toUpperCase()}${action.slice(1)} the canary of ${canary.view.cluster}?`, confirmRolloutBody(canary, action, session.csrf));
    }
    if (p === '/ui/releases') return show('Releases', releasesBody(h.releases()));
    if ((m = /^\/ui\/releases\/([A-Za-z0-9.-]+)$/.exec(p))) return show(`Release ${m[1]!}`, releaseBody(h.release(m[1]!)));
    if (p === '/ui/diff') {
      const from = q.get('from') ?? '';
      const to = q.get('to') ?? '';
      return show(`${from} → ${to}`, diffBody(h.releases(), h.diff(from, to)));
    }
    if (p === '/ui/logs') {
      const form: LogForm = {};
      for (const k of LOG_FIELDS) {
        const v = q.get(k);
        if (v) form[k] = v;
      }
      // The same filters, checked the same way, as `kiln logs <cluster> --build … --grep …`.
      const streamQuery = logsQuery(form.cluster, form).toString();
      return show('Logs', logsBody(form, streamQuery), form.env);
    }
    return this.plain(res, 404, 'no such page');
  }

  private async post(res: http.ServerResponse, p: string, form: URLSearchParams, session: Session): Promise<void> {
    const project = this.host.project();
    let m: RegExpExecArray | null;
    if (p === '/ui/logout') {
      this.sessions.end(session);
      res.setHeader('set-cookie', CLEAR_COOKIE);
      return this.redirect(res, '/ui/login');
    }
    if ((m = /^\/ui\/env\/([a-z0-9-]+)\/deploy$/.exec(p))) {
      const env = this.env(m[1]!);
      const release = form.get('release') ?? '';
      const canary = form.get('canary') === '1';
      return streamProgress(res, { title: `Deploying ${release} to ${env}${canary ? ' as a canary' : ''}`, project, session, back: `/ui/env/${env}` }, (out) =>
        this.host.deploy({ env, release, ...(canary ? { canary: true } : {}) }, out),
      );
    }
    if ((m = /^\/ui\/env\/([a-z0-9-]+)\/rollout$/.exec(p))) {
      const env = this.env(m[1]!);
      const { canary, action } = this.canary(env, form);
      return streamProgress(res, { title: `${action}: canary of ${canary.view.cluster}`, project, session, back: `/ui/env/${env}` }, async (out) => {
        out.event({ kind: `rollout.${action}`, message: await this.host.rollout(env, canary.view.cluster, action) });
      });
    }
    if ((m = /^\/ui\/env\/([a-z0-9-]+)\/rollback$/.exec(p))) {
      const env = this.env(m[1]!);
      return streamProgress(res, { title: `Rolling back ${env}`, project, session, back: `/ui/env/${env}` }, (out) => this.host.rollback({ env }, out));
    }
    return this.plain(res, 404, 'no such action');
  }

  private async login(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const project = this.host.project();
    if (req.method === 'GET') return this.send(res, 200, loginPage(project, false));
    if (req.method !== 'POST') return this.plain(res, 405, 'GET or POST only');
    const form = await this.form(req);
    // Login CSRF too: another site cannot log a browser into this dashboard.
    if (!sameOrigin(req)) return this.plain(res, 403, 'refused: the login form must be posted from this dashboard');
    if (!this.host.tokenMatches(form.get('token') ?? '')) return this.send(res, 401, loginPage(project, true));
    const s = this.sessions.create();
    res.setHeader('set-cookie', sessionCookie(s));
    return this.redirect(res, '/ui/');
  }

  /** The canary in progress on the asked cluster, and a steering action (not status). */
  private canary(env: string, q: URLSearchParams): { canary: CanaryInfo; action: Exclude<RolloutAction, 'status'> } {
    const action = q.get('action') ?? '';
    if (!ROLLOUT_ACTIONS.includes(action as RolloutAction) || action === 'status') throw new KilnError('USAGE', `unknown canary action "${action}"`, { hint: 'promote, pause, resume or abort' });
    const cluster = q.get('cluster') ?? '';
    const canary = this.host.canaries(env).find((c) => c.view.cluster === cluster);
    if (!canary) throw new KilnError('CANARY_NOT_FOUND', `no canary is in progress on cluster ${cluster || '(none)'} in ${env}`, { hint: `kiln status --env ${env} shows what serves` });
    return { canary, action: action as Exclude<RolloutAction, 'status'> };
  }

  /** An environment of the project (or one with clusters): else a KilnError naming those there are. */
  private env(name: string): string {
    const known = this.host.environments().map((e) => e.name);
    if (!known.includes(name)) throw new KilnError('ENV_NOT_FOUND', `environment "${name}" is not in kiln.yaml`, { hint: `environments: ${known.join(', ')}` });
    return name;
  }

  private async form(req: http.IncomingMessage): Promise<URLSearchParams> {
    const type = req.headers['content-type'] ?? '';
    const text = await readBodyLimited(req, MAX_FORM);
    if (text === null || !type.startsWith('application/x-www-form-urlencoded')) return new URLSearchParams();
    return new URLSearchParams(text);
  }

  private asset(req: http.IncomingMessage, res: http.ServerResponse, name: string): void {
    const a = asset(name);
    if (!a) return this.plain(res, 404, 'no such file');
    res.setHeader('etag', a.etag);
    res.setHeader('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': a.type, 'content-length': a.body.length });
    res.end(a.body);
  }

  private send(res: http.ServerResponse, status: number, body: Html): void {
    const data = Buffer.from(body.text);
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': data.length });
    res.end(data);
  }

  private plain(res: http.ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(text + '\n');
  }

  private redirect(res: http.ServerResponse, to: string): void {
    res.writeHead(303, { location: to });
    res.end();
  }
}
