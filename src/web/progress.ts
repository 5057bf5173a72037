// An action's answer: an HTML page streamed while the operation runs, one list item per progress
// event (the same events `kiln deploy` prints), then the outcome. Works without any script.
import type http from 'node:http';
import { html } from './html.js';
import { page } from './layout.js';
import type { Session } from './session.js';
import type { StreamWriter } from '../server/api.js';
import { KilnError, formatError } from '../errors.js';

export async function streamProgress(
  res: http.ServerResponse,
  o: { title: string; project: string; session: Session; back: string },
  run: (out: StreamWriter) => Promise<unknown>,
): Promise<void> {
  const frame = page({ title: o.title, project: o.project, session: o.session, body: html`<ol class="progress" id="progress" aria-live="polite">@@@</ol>` }).text;
  const [head, tail] = frame.split('@@@') as [string, string];
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.write(head);
  const out: StreamWriter = { event: (e) => res.write(html`<li>${String(e.message ?? e.kind ?? '')}</li>\n`.text), by: 'dashboard' };
  let outcome;
  try {
    const result = await run(out);
    // A canary that was aborted ended without an error, but did not do what was asked.
    const ended = typeof result === 'object' && result !== null && 'outcome' in result ? String((result as { outcome: unknown }).outcome) : 'done';
    outcome = ended === 'aborted' || ended === 'interrupted' ? html`<li class="outcome error" id="outcome" role="alert">${ended}</li>` : html`<li class="outcome ok" id="outcome">done</li>`;
  } catch (e) {
    const message = e instanceof KilnError ? formatError(e) : (e as Error).message;
    outcome = html`<li class="outcome error" id="outcome" role="alert">failed: ${message}</li>`;
  }
  res.end(outcome.text + tail.replace('</main>', html`<p><a href="${o.back}">Back</a></p></main>`.text));
}
