// HAProxy as the oracle for what a proxy may forward (issue 11, defect 1): every head of the
// hostile corpus (hostile-heads.ts) goes to a real HAProxy and to Kiln's proxy, each in front of
// its own recording backend that splits what it receives into requests the way a lenient server
// would. Kiln must never forward a request HAProxy refuses, and never let the backend see more
// requests than the client framed. Being stricter than HAProxy (refusing what it forwards) is
// allowed. The corpus size and how often the two agree are printed as the test's diagnostics.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTILE_HEADS } from './hostile-heads.js';
import { sendAndCollect, startHaproxy } from './haproxy-testkit.js';
import { rawWebBehindProxy, startRawBackend } from './raw-testkit.js';

const status = (reply: string) => /^HTTP\/1\.[01] (\d{3})/.exec(reply)?.[1] ?? (reply === '' ? 'closed' : 'garbage');

test('Kiln forwards nothing of the hostile corpus that HAProxy refuses, and never more requests than the client framed', async (t) => {
  const viaHaproxy = await startRawBackend();
  t.after(() => viaHaproxy.close());
  const haproxyPort = await startHaproxy(t, viaHaproxy.backend.port);
  const { b: viaKiln, p } = await rawWebBehindProxy(t);

  const counts = { bothForwarded: 0, bothRefused: 0, onlyKilnRefused: 0, onlyHaproxyRefused: 0 };
  const violations: string[] = [];
  for (const h of HOSTILE_HEADS) {
    const before = { hap: viaHaproxy.requests.length, kiln: viaKiln.requests.length };
    const [hapReply, kilnReply] = await Promise.all([sendAndCollect(haproxyPort, h.bytes), sendAndCollect(p.port, h.bytes)]);
    const hap = viaHaproxy.requests.length - before.hap;
    const kiln = viaKiln.requests.length - before.kiln;
    const seen = `${h.name}: HAProxy ${status(hapReply)}, ${hap} forwarded; Kiln ${status(kilnReply)}, ${kiln} forwarded`;
    t.diagnostic(seen);
    if (hap > 0 && kiln > 0) counts.bothForwarded++;
    else if (hap === 0 && kiln === 0) counts.bothRefused++;
    else if (hap > 0) counts.onlyKilnRefused++;
    else {
      counts.onlyHaproxyRefused++;
      violations.push(`forwarded what HAProxy refuses: ${seen}`);
    }
    if (kiln > h.framed) violations.push(`the backend saw ${kiln} requests where the client framed ${h.framed}: ${seen}`);
  }
  t.diagnostic(`corpus: ${HOSTILE_HEADS.length} hostile heads`);
  t.diagnostic(
    `agreement: ${counts.bothForwarded + counts.bothRefused}/${HOSTILE_HEADS.length} ` +
      `(both forwarded ${counts.bothForwarded}, both refused ${counts.bothRefused}); ` +
      `only Kiln refused ${counts.onlyKilnRefused}; only HAProxy refused ${counts.onlyHaproxyRefused}`,
  );
  assert.ok(HOSTILE_HEADS.length >= 40, `the corpus has ${HOSTILE_HEADS.length} heads`);
  assert.ok(counts.bothForwarded > 0, 'the well-framed heads of the corpus reach both backends (the comparison means something)');
  assert.deepEqual(violations, []);
});
