// A running canary on its cluster's card: the step, the split, the step's clock and the gates'
// latest numbers (as `kiln rollout status` shows them), with promote / pause / resume / abort.
// Each action asks first, saying exactly what will change.
import { duration, html, type Html } from '../html.js';
import { badge } from '../layout.js';
import type { CanaryInfo } from '../host.js';
import type { RolloutAction } from '../../server/rollout.js';

export function canaryCard(c: CanaryInfo): Html {
  const v = c.view;
  const g = v.gates;
  const fig = (x: { requests: number; rate5xxPercent: number; p99Ms: number | null }) => `${x.requests} requests, ${x.rate5xxPercent.toFixed(2)}% 5xx, p99 ${x.p99Ms === null ? '-' : `${x.p99Ms} ms`}`;
  const button = (action: RolloutAction, label: string) =>
    html`<form method="get" action="/ui/env/${v.env}/rollout"><input type="hidden" name="cluster" value="${v.cluster}"><input type="hidden" name="action" value="${action}"><button type="submit">${label}</button></form>`;
  return html`<section class="canary" data-canary="${v.cluster}" aria-label="canary of ${v.cluster}">
<h3>Canary ${v.canary} ${badge(v.state)}</h3>
<p>step <strong class="canary-step">${v.step} of ${v.steps}</strong> · <strong class="canary-weight">${v.weight}%</strong> to ${v.canary}, ${100 - v.weight}% to ${v.stable} ·
${duration(v.elapsedMs)}${v.forMs !== null ? ` of ${duration(v.forMs)}` : ' (waits for promote)'}${v.pending.promote ? ' · promote asked' : ''}${v.pending.abort ? ' · abort asked' : ''}</p>
${g ? html`<p>gates: <strong>${g.verdict}</strong> · canary ${fig(g.canary)} · stable ${fig(g.stable)}</p><ul class="gates">${g.checks.map((k) => html`<li>${k.gate}: ${k.value ?? '-'} (limit ${k.limit}) ${k.ok ? 'ok' : html`<span class="error">not met</span>`}</li>`)}</ul>` : html`<p class="muted">gates: no numbers yet</p>`}
<div class="actions">${button('promote', 'Promote…')}${v.state === 'paused' ? button('resume', 'Resume…') : button('pause', 'Pause…')}${button('abort', 'Abort…')}</div>
</section>`;
}

/** What an action will change, in words, for its confirmation. */
export function rolloutEffect(c: CanaryInfo, action: RolloutAction): string {
  const v = c.view;
  switch (action) {
    case 'promote':
      return c.nextWeight === null
        ? `Step ${v.step} of ${v.steps} ends now: ${v.canary} takes all of ${v.cluster}'s traffic (once the deploy's other clusters are done) and ${v.stable} is kept for rollback.`
        : `Step ${v.step} of ${v.steps} ends now: ${v.canary} goes from ${v.weight}% to ${c.nextWeight}% of ${v.cluster}'s traffic.`;
    case 'pause':
      return `${v.cluster} stays at ${v.weight}% to ${v.canary} until resumed; its gates can still abort it.`;
    case 'resume':
      return `${v.cluster}'s step ${v.step} of ${v.steps} goes on from where it was paused.`;
    case 'abort':
      return `Every request of ${v.cluster} goes to ${v.stable} again and ${v.canary} is destroyed; the deploy ends as aborted.`;
    case 'status':
      return '';
  }
}

export function confirmRolloutBody(c: CanaryInfo, action: RolloutAction, csrf: string): Html {
  const v = c.view;
  return html`<p class="plan">${rolloutEffect(c, action)}</p>
<form method="post" action="/ui/env/${v.env}/rollout"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="cluster" value="${v.cluster}"><input type="hidden" name="action" value="${action}">
<button type="submit" class="danger">${action[0]!.toUpperCase()}${action.slice(1)} the canary of ${v.cluster}</button> <a href="/ui/env/${v.env}">Cancel</a></form>`;
}
