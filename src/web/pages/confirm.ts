// The confirmation before an action: exactly what will change (the plan `--dry-run` prints), and
// one button that POSTs it with the session's CSRF token. The POST's answer is the progress
// page (progress.ts), streamed as the operation runs.
import { html, type Html } from '../html.js';

export function confirmDeployBody(env: string, release: string, plan: string, csrf: string, canary: boolean): Html {
  return html`<p>This is the plan (what kiln deploy --dry-run prints): nothing changes until you confirm.${
    canary ? ' As a canary, each changing cluster goes through its role\'s canary steps and gates before the switch.' : ''
  }</p>
<pre class="plan" aria-label="plan">${plan}</pre>
<form method="post" action="/ui/env/${env}/deploy"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="release" value="${release}">${canary ? html`<input type="hidden" name="canary" value="1">` : ''}
<button type="submit" class="danger">Deploy ${release} to ${env}${canary ? ' as a canary' : ''}</button> <a href="/ui/env/${env}">Cancel</a></form>`;
}

export function confirmRollbackBody(env: string, steps: Array<{ cluster: string; from: string; to: string }>, csrf: string): Html {
  return html`<p>Rolling back re-enables the kept groups; nothing changes until you confirm.</p>
<ul class="plan" aria-label="plan">${steps.map((s) => html`<li>${s.cluster}: ${s.from} → <strong>${s.to}</strong></li>`)}</ul>
<form method="post" action="/ui/env/${env}/rollback"><input type="hidden" name="csrf" value="${csrf}">
<button type="submit" class="danger">Roll back ${env}</button> <a href="/ui/env/${env}">Cancel</a></form>`;
}
