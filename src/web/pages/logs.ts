// Logs of a cluster, a group (build) or a server, with `kiln logs`'s filters in a form (GET, so a
// view can be bookmarked). app.js follows /v1/logs/stream with the same query and appends each
// line as text, never as markup.
import { html, type Html } from '../html.js';

export const LOG_FIELDS = ['env', 'cluster', 'build', 'server', 'stream', 'grep', 'since', 'until', 'lines'] as const;
export type LogForm = Partial<Record<(typeof LOG_FIELDS)[number], string>>;

export function logsBody(form: LogForm, streamQuery: string): Html {
  const field = (name: (typeof LOG_FIELDS)[number], label: string, hint: string) =>
    html`<label>${label} <input name="${name}" value="${form[name] ?? ''}" placeholder="${hint}"></label>`;
  return html`<form method="get" action="/ui/logs" class="filters">
${field('env', 'Environment', 'dev')}${field('cluster', 'Cluster', 'api-http-dev')}${field('build', 'Build', 'v002')}${field('server', 'Server', 'api-http-dev-v002-1')}
${field('stream', 'Stream', 'log, stdout, stderr')}${field('grep', 'Text', 'ERROR or /regex/i')}${field('since', 'Since', '10m')}${field('until', 'Until', '2026-12-04T10:00:00Z')}${field('lines', 'Lines', '100')}
<button type="submit">Show</button></form>
<p class="muted" id="log-state" aria-live="polite">following…</p>
<ol id="log-lines" class="log-lines" data-stream="/v1/logs/stream?${streamQuery}"></ol>`;
}
