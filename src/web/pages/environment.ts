// One environment: clusters → groups → servers with state, health, age, release, image and the
// traffic share the proxy measured; the deploy and rollback actions (each asks first, showing
// the plan). The #clusters section is fetched again by app.js whenever the live stream says so.
import { duration, html, type Html } from '../html.js';
import { badge } from '../layout.js';
import type { StatusCluster, StatusView } from '../../server/status.js';
import type { ReleaseSummary } from '../../release/index.js';
import type { CanaryInfo } from '../host.js';
import { canaryCard } from './canary.js';

function cluster(c: StatusCluster, now: number, canary: CanaryInfo | undefined): Html {
  const groups = c.groups.map((g) => {
    const share = g.traffic?.share;
    const servers = g.servers.map((s) => html`<li>${s.name} ${badge(s.state)} <span class="muted">${duration(now - Date.parse(s.since))}${s.port ? ` · port ${s.port}` : ''}</span></li>`);
    return html`<tr data-group="${g.name}"${g.name === c.active ? html` class="active-group"` : ''}>
<th scope="row">${g.name}${g.name === c.active ? html` <span class="tag">active</span>` : ''}</th><td>${g.release}</td><td>${badge(g.state)}</td>
<td>${g.healthy}/${g.replicas}</td><td>${c.host === null ? html`<span class="muted">-</span>` : share === undefined ? html`<span class="muted">?</span>` : share === null ? html`<span class="muted">no requests</span>` : `${share}%`}</td>
<td><ul class="servers">${servers}</ul>${g.image ? html`<p class="muted">image <code title="${g.image}">${g.image.slice(0, 19)}…</code></p>` : ''}${g.failure ? html`<p class="error">${g.failure}</p>` : ''}</td></tr>`;
  });
  return html`<article class="cluster" data-cluster="${c.name}"><h2>${c.name} <small>${c.host ?? 'no load balancer'}</small></h2>
<p>active: <strong class="active-name">${c.active ?? '-'}</strong>${c.fallbacks ? html` · <span class="error">${c.fallbacks} request(s) served by the kept group</span>` : ''}
· <a href="/ui/logs?env=${c.env}&amp;cluster=${c.name}">logs</a></p>
<table><thead><tr><th scope="col">Group</th><th scope="col">Release</th><th scope="col">State</th><th scope="col">Healthy</th><th scope="col">Traffic</th><th scope="col">Servers</th></tr></thead>
<tbody>${groups}</tbody></table>${canary ? canaryCard(canary) : ''}</article>`;
}

export function clustersFragment(status: StatusView, env: string, canaries: CanaryInfo[], now = Date.now()): Html {
  const clusters = status.clusters.filter((c) => c.env === env);
  const serving = status.serving?.[env] ?? [];
  const d = status.lastDeployment;
  return html`<p class="serving">${serving.length ? html`<strong>${serving.join(', ')}</strong> serves ${env}` : html`nothing serves ${env}`}${
    d ? html` · last ${d.kind} ${d.release} ${badge(d.state)}` : ''
  }</p>${clusters.length ? clusters.map((c) => cluster(c, now, canaries.find((x) => x.view.cluster === c.name))) : html`<p class="muted">nothing deployed in ${env} yet</p>`}`;
}

export function environmentBody(status: StatusView, env: string, releases: ReleaseSummary[], canaries: CanaryInfo[]): Html {
  const newest = releases.at(-1)?.name;
  return html`<p><a href="/ui/env/${env}/timeline">Timeline</a> · <a href="/ui/logs?env=${env}">Logs</a></p>
<section class="actions" aria-label="actions">
<form method="get" action="/ui/env/${env}/deploy"><label for="release">Release</label>
<select id="release" name="release">${releases.map((r) => html`<option value="${r.name}"${r.name === newest ? html` selected` : ''}>${r.name}</option>`)}</select>
<label><input type="checkbox" name="canary" value="1"> as a canary</label>
<button type="submit">Deploy…</button></form>
<form method="get" action="/ui/env/${env}/rollback"><button type="submit">Roll back…</button></form>
</section>
<section id="clusters" data-live="/ui/env/${env}?fragment=clusters">${clustersFragment(status, env, canaries)}</section>`;
}
