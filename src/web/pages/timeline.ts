// An environment's timeline: its deployments and rollbacks (what, outcome, duration, why it
// failed) and its events, newest first. #timeline is fetched again on every live event.
import { duration, html, type Html } from '../html.js';
import { badge } from '../layout.js';
import type { EventRow } from '../../store/runtime-state.js';
import type { DeploymentRecord } from '../../store/timeline.js';

export type FailureTail = (deployment: number) => Array<{ subject: string; lines: string[] }>;

function failure(d: DeploymentRecord, tail: FailureTail): Html {
  if (d.state !== 'failed') return html`${d.error ?? ''}`;
  // Why, and what the failing server said last: what an operator reads first.
  const tails = tail(d.id).filter((t) => t.lines.length);
  return html`${d.error ?? ''}${tails.map((t) => html`<details><summary>last lines of ${t.subject}</summary><pre class="tail">${t.lines.join('\n')}</pre></details>`)}`;
}

export function timelineFragment(deployments: DeploymentRecord[], events: EventRow[], tail: FailureTail, now = Date.now()): Html {
  const rows = deployments.map(
    (d) => html`<tr><td>${d.id}</td><td>${d.kind}</td><td>${d.release}</td><td>${badge(d.state)}</td><td><time datetime="${d.startedAt}">${d.startedAt.replace('T', ' ').slice(0, 19)}</time></td>
<td>${duration((d.finishedAt ? Date.parse(d.finishedAt) : now) - Date.parse(d.startedAt))}${d.finishedAt ? '' : ' so far'}</td><td>${failure(d, tail)}</td><td>${d.by ?? ''}</td></tr>`,
  );
  const items = [...events].reverse().map(
    (e) => html`<li data-event="${e.id}"><time datetime="${e.at}">${e.at.replace('T', ' ').slice(0, 19)}</time> <code>${e.kind}</code> ${e.message}</li>`,
  );
  return html`<h2>Deployments</h2>${
    rows.length
      ? html`<table><thead><tr><th scope="col">#</th><th scope="col">What</th><th scope="col">Release</th><th scope="col">Outcome</th><th scope="col">Started</th><th scope="col">Took</th><th scope="col">Failure</th><th scope="col">By</th></tr></thead><tbody>${rows}</tbody></table>`
      : html`<p class="muted">none yet</p>`
  }<h2>Events</h2><ol class="events" reversed>${items}</ol>`;
}

export function timelineBody(env: string, deployments: DeploymentRecord[], events: EventRow[], tail: FailureTail): Html {
  return html`<p><a href="/ui/env/${env}">${env}</a></p><section id="timeline" data-live="/ui/env/${env}/timeline?fragment=timeline">${timelineFragment(deployments, events, tail)}</section>`;
}
