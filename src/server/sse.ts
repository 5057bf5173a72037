// Server-Sent Events for the API's live streams (events and status, log lines): the framing, a
// heartbeat comment that keeps idle connections from being cut, and the resume point a
// reconnecting EventSource sends (Last-Event-ID). Data is JSON on one line, so no field splits.
import type http from 'node:http';

export interface SseStream {
  send(event: string, data: unknown, id?: number): Promise<void>;
  /** Aborted when the client went away. */
  readonly signal: AbortSignal;
}

const HEARTBEAT_MS = 15_000;

export function openSse(res: http.ServerResponse): SseStream {
  const ac = new AbortController();
  res.on('close', () => ac.abort());
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  // Tells the browser how soon to reconnect after a cut (it then sends Last-Event-ID).
  res.write('retry: 1000\n\n');
  const beat = setInterval(() => res.write(': beat\n\n'), HEARTBEAT_MS);
  ac.signal.addEventListener('abort', () => clearInterval(beat));
  return {
    signal: ac.signal,
    send: (event, data, id) =>
      new Promise((resolve) => {
        if (ac.signal.aborted) return resolve();
        const frame = `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
        if (res.write(frame)) resolve();
        else {
          const done = (): void => {
            res.off('drain', done);
            ac.signal.removeEventListener('abort', done);
            resolve();
          };
          res.once('drain', done);
          ac.signal.addEventListener('abort', done, { once: true });
        }
      }),
  };
}

/** The id a reconnecting client last saw (header), or the `after` it asked for; undefined: none. */
export function resumeAfter(req: http.IncomingMessage): number | undefined {
  const v = req.headers['last-event-id'];
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || !/^[0-9]{1,15}$/.test(s)) return undefined;
  return Number(s);
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}
