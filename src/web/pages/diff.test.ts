import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffSections } from './diff.js';

test('a diff page shows changelog entries, the OS packages that changed, and flags, each under its stream', () => {
  const page = diffSections({
    from: 'r1',
    to: 'r2',
    data: [{ store: 'orders', from: 2, to: 3, entries: ['0003-add-<note>.sql'] }],
    changes: [
      { kind: 'os-tag', service: 'api', from: 'os/bookworm:2026.01.01', to: 'os/bookworm:2026.02.01', packages: { added: [{ name: 'curl', version: '7.88' }], removed: [], changed: [{ name: 'libc6', from: '2.36-9', to: '2.36-9+deb12u4' }] } },
      { kind: 'flag-changed', service: 'api', role: null, flag: 'greeting', from: 'hello', to: 'hi' },
    ],
  }).text;
  assert.match(page, /<th scope="row">data\/orders<\/th><td>changelog 2 → 3<\/td><td><ul><li>0003-add-&lt;note&gt;.sql<\/li>/);
  assert.match(page, /data-part="os"><th scope="row">api<\/th><td>os<\/td><td>os tag os\/bookworm:2026.01.01 -&gt; os\/bookworm:2026.02.01<ul class="packages"/);
  assert.match(page, /<li class="added">\+ curl 7.88<\/li><li>libc6 2.36-9 → 2.36-9\+deb12u4<\/li>/);
  assert.match(page, /data-part="flags"><td><\/td><td>flags<\/td><td>flag --greeting &quot;hello&quot; -&gt; &quot;hi&quot;<\/td>/);
});
