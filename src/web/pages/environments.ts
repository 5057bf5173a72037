// The first page: every environment of the project, what serves there, its last deployment.
import { html, type Html } from '../html.js';
import { badge } from '../layout.js';
import type { EnvironmentInfo } from '../host.js';
import type { StatusView } from '../../server/status.js';

export function environmentsBody(envs: EnvironmentInfo[], status: StatusView, last: (env: string) => { release: string; state: string; kind: string } | undefined): Html {
  const rows = envs.map((e) => {
    const clusters = status.clusters.filter((c) => c.env === e.name);
    const serving = status.serving?.[e.name] ?? [];
    const d = last(e.name);
    return html`<tr><th scope="row"><a href="/ui/env/${e.name}">${e.name}</a></th><td>${e.runtime}</td>
<td>${serving.length ? serving.join(', ') : html`<span class="muted">nothing</span>`}</td><td>${clusters.length}</td>
<td>${d ? html`${d.kind} ${d.release} ${badge(d.state)}` : html`<span class="muted">none</span>`}</td></tr>`;
  });
  return html`<section id="environments" data-live="/ui/?fragment=environments">
<table><caption class="sr-only">Environments</caption><thead><tr><th scope="col">Environment</th><th scope="col">Runtime</th><th scope="col">Serving</th><th scope="col">Clusters</th><th scope="col">Last deployment</th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
}
