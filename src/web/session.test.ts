import { test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { csrfMatches, loopbackHost, sameOrigin, sessionCookie, Sessions } from './session.js';
import { html, raw } from './html.js';

const req = (headers: Record<string, string>): http.IncomingMessage => ({ headers }) as unknown as http.IncomingMessage;

test('a session is found by its cookie only, until it expires or ends; its cookie is HttpOnly and SameSite=Strict', () => {
  const sessions = new Sessions();
  const s = sessions.create(1000);
  assert.match(sessionCookie(s), /HttpOnly; SameSite=Strict/);
  assert.equal(sessions.of(req({ cookie: `a=b; kiln_session=${s.id}` }), 2000), s);
  assert.equal(sessions.of(req({ cookie: 'kiln_session=forged' }), 2000), undefined);
  assert.equal(sessions.of(req({ cookie: `kiln_session=${s.id}` }), 1000 + 13 * 3600_000), undefined);
  sessions.end(s);
  assert.equal(sessions.of(req({ cookie: `kiln_session=${s.id}` }), 2000), undefined);
  assert.ok(csrfMatches(s, s.csrf));
  assert.ok(!csrfMatches(s, '') && !csrfMatches(s, undefined) && !csrfMatches(s, s.id));
});

test('same origin means Origin is exactly this loopback Host; a rebound name, another port or a cross-site fetch is not', () => {
  assert.ok(sameOrigin(req({ host: '127.0.0.1:7070', origin: 'http://127.0.0.1:7070' })));
  assert.ok(sameOrigin(req({ host: 'localhost:7070', origin: 'http://localhost:7070', 'sec-fetch-site': 'same-origin' })));
  assert.ok(!sameOrigin(req({ host: '127.0.0.1:7070', origin: 'http://127.0.0.1:7071' })));
  assert.ok(!sameOrigin(req({ host: '127.0.0.1:7070' })));
  assert.ok(!sameOrigin(req({ host: '127.0.0.1:7070', origin: 'null' })));
  assert.ok(!sameOrigin(req({ host: 'evil.test:7070', origin: 'http://evil.test:7070' })));
  assert.ok(!sameOrigin(req({ host: '127.0.0.1:7070', origin: 'http://127.0.0.1:7070', 'sec-fetch-site': 'same-site' })));
  assert.ok(loopbackHost(req({ host: '[::1]:7070' })));
  assert.ok(!loopbackHost(req({ host: '127.0.0.1.evil.test' })));
});

test('pages escape every value they show, in text and in attributes', () => {
  const line = '<script>alert(1)</script>"\' & more';
  assert.equal(html`<li title="${line}">${line}</li>`.text, '<li title="&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39; &amp; more">&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39; &amp; more</li>');
  assert.equal(html`<p>${[html`<b>${'<i>'}</b>`, raw('<br>')]}</p>`.text, '<p><b>&lt;i&gt;</b><br></p>');
});
