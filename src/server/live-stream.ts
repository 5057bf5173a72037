// GET /v1/stream: the dashboard's live view of one environment (or all) as Server-Sent Events.
// `event` messages are state.db's event rows (id = the row's id, so a reconnect resumes after the
// last one seen); `status` messages are the status answer, sent at connect and whenever it changes
// (servers turning healthy, a switch, traffic shares), checked a few times a second.
import type http from 'node:http';
import type { Timeline } from '../store/timeline.js';
import type { StatusView } from './status.js';
import { openSse, resumeAfter, sleep } from './sse.js';

export interface LiveDeps {
  timeline: Timeline;
  status(env: string | undefined): Promise<StatusView>;
  /** How often the state is looked at (default 300 ms). */
  pollMs?: number;
}

export async function serveLive(deps: LiveDeps, env: string | undefined, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  // Checked before the stream opens: an unknown environment is a 400, not an empty stream.
  let status = await deps.status(env);
  const sse = openSse(res);
  // A fresh page has just read the recent events with its HTML: only newer ones are sent.
  let after = resumeAfter(req) ?? deps.timeline.newestEventId();
  let shown = '';
  try {
    for (;;) {
      for (const e of deps.timeline.eventsAfter(after, env)) {
        await sse.send('event', e, e.id);
        after = e.id;
      }
      const text = JSON.stringify(status);
      if (text !== shown) {
        await sse.send('status', status);
        shown = text;
      }
      await sleep(deps.pollMs ?? 300, sse.signal);
      if (sse.signal.aborted) return;
      status = await deps.status(env);
    }
  } finally {
    if (!res.writableEnded) res.end();
  }
}
