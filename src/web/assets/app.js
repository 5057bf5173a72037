// The dashboard's one script (an ES module, loaded from this listener: the Content-Security-Policy
// forbids inline script). Pages are rendered on the server and work without it; this only makes
// them live: sections marked data-live are fetched again when the control plane's event stream
// (GET /v1/stream, Server-Sent Events) says something changed, and the logs page appends the
// lines of GET /v1/logs/stream as text. EventSource reconnects by itself and sends Last-Event-ID,
// so a cut connection resumes where it stopped.

const live = [...document.querySelectorAll('[data-live]')];
const env = document.body.dataset.liveEnv;

if (live.length && env !== undefined) {
  const stream = new EventSource(`/v1/stream${env ? `?env=${encodeURIComponent(env)}` : ''}`);
  let queued = false;
  const refresh = () => {
    if (queued) return;
    queued = true;
    // One fetch for a burst of messages (a deploy sends several within a few milliseconds).
    setTimeout(async () => {
      queued = false;
      for (const el of live) {
        try {
          const res = await fetch(el.dataset.live, { credentials: 'same-origin', headers: { accept: 'text/html' } });
          if (!res.ok) continue;
          const text = await res.text();
          // Markup from this server, whose templates escape every value (src/web/html.ts).
          if (el.dataset.shown !== text) {
            // Keyboard focus inside the section survives the swap: the same control gets it back.
            const controls = () => [...el.querySelectorAll('a, button, input, select')];
            const focused = el.contains(document.activeElement) ? controls().indexOf(document.activeElement) : -1;
            el.innerHTML = text;
            el.dataset.shown = text;
            if (focused >= 0) controls()[Math.min(focused, controls().length - 1)]?.focus();
          }
        } catch {
          /* the next message tries again */
        }
      }
    }, 50);
  };
  stream.addEventListener('status', refresh);
  stream.addEventListener('event', refresh);
}

const lines = document.getElementById('log-lines');
if (lines) {
  const state = document.getElementById('log-state');
  const MAX_LINES = 5000;
  const stream = new EventSource(lines.dataset.stream);
  stream.addEventListener('open', () => (state.textContent = 'following new lines'));
  stream.addEventListener('line', (m) => {
    const l = JSON.parse(m.data);
    const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 4;
    const li = document.createElement('li');
    li.dataset.id = String(l.id);
    li.className = `stream-${l.stream}`;
    // Text, never markup: a log line is whatever a server wrote.
    li.textContent = `${l.ts.slice(11, 23)} ${l.server} ${l.stream} ${l.text}`;
    lines.append(li);
    while (lines.childElementCount > MAX_LINES) lines.firstElementChild.remove();
    if (atBottom) li.scrollIntoView({ block: 'end' });
  });
  stream.addEventListener('error', async () => {
    if (stream.readyState !== EventSource.CLOSED) {
      state.textContent = 'reconnecting…';
      return;
    }
    // Refused for good (a filter naming no cluster, say): the plain call says why.
    const res = await fetch(lines.dataset.stream.replace('/v1/logs/stream', '/v1/logs'), { credentials: 'same-origin' });
    const body = await res.json().catch(() => ({}));
    state.textContent = body.error ? `refused: ${body.error.message}` : 'stopped';
    state.setAttribute('role', 'alert');
  });
}
