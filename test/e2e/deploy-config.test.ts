// What a deploy used (issue 13): an environment's flags and scale come from kiln.yaml at deploy
// time, not from the release. `deploy --dry-run` shows what they change in what runs now, and each
// deployment records the configuration it rendered (digest, flags; secrets only as references).
import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parseDocument } from 'yaml';
import { setupShop, SHOP_TOKEN, type Shop } from './lib/shop.js';

interface DryRun {
  config: { digest: string; changes: string[]; running: { digest: string; deployment: number; release: string } | null };
}

describe('the configuration of a deployment', () => {
  let shop: Shop;
  before(async () => {
    shop = await setupShop();
  });
  after(async () => {
    if (shop) {
      await shop.p.kiln(['down'], { allowFail: true });
      await shop.p.cleanup();
    }
  });

  const recorded = (): Array<{ deployment_id: number; digest: string; config: string }> => {
    const db = new Database(path.join(shop.p.dir, '.kiln', 'state.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT deployment_id, digest, config FROM deployment_configs ORDER BY deployment_id').all() as Array<{ deployment_id: number; digest: string; config: string }>;
    } finally {
      db.close();
    }
  };

  test('kiln.yaml edits to the environment: the dry run shows them against what runs, the release is unchanged', async () => {
    const first = recorded();
    assert.equal(first.length, 1);
    const releaseBefore = (await shop.p.kiln(['release', 'show', 'r1', '--json'])).stdout;

    const file = path.join(shop.p.dir, 'kiln.yaml');
    const doc = parseDocument(fs.readFileSync(file, 'utf8'));
    doc.setIn(['environments', 'dev', 'flags', 'api', 'greeting'], 'hi');
    doc.setIn(['environments', 'dev', 'scale'], { api: { http: 3 } });
    fs.writeFileSync(file, doc.toString());

    const text = await shop.p.kiln(['deploy', 'r1', '--env', 'dev', '--dry-run']);
    assert.match(text.stdout, /configuration sha256:[0-9a-f]{12} \(flags and scale of dev from kiln\.yaml now, not part of r1\); last deploy sha256:[0-9a-f]{12} \(deployment 1, r1\)/);
    assert.match(text.stdout, /^ {2}api-http-dev: replicas 2 -> 3$/m);
    assert.match(text.stdout, /^ {2}api-http-dev: --greeting=hello -> --greeting=hi$/m);
    assert.match(text.stdout, /^ {2}api-worker-dev: --greeting=hello -> --greeting=hi$/m);
    assert.doesNotMatch(text.stdout, /^ {2}web-http-dev: (?!unchanged)/m);
    const dry = JSON.parse((await shop.p.kiln(['deploy', 'r1', '--env', 'dev', '--dry-run', '--json'])).stdout) as DryRun;
    assert.equal(dry.config.running?.digest, first[0]!.digest);
    assert.equal(dry.config.changes.length, 3);
    assert.notEqual(dry.config.digest, first[0]!.digest);
    // A dry run records nothing, and the release is what it was.
    assert.equal(recorded().length, 1);
    assert.equal((await shop.p.kiln(['release', 'show', 'r1', '--json'])).stdout, releaseBefore);

    await shop.p.kiln(['deploy', 'r1', '--env', 'dev']);
    const after = recorded();
    assert.equal(after.length, 2);
    assert.equal(after[1]!.digest, dry.config.digest);
    const config = JSON.parse(after[1]!.config) as { environment: { flags: Record<string, Record<string, string>>; scale: unknown }; clusters: Record<string, { replicas: number; args: string[] }> };
    assert.equal(config.clusters['api-http-dev']?.replicas, 3);
    assert.deepEqual(config.environment.scale, { api: { http: 3 } });
    // Secrets only as references: the template, and the path of the version file.
    assert.equal(config.environment.flags.web?.['token-file'], '${secret.web_token}');
    assert.match(config.clusters['web-http-dev']!.args.find((a) => a.startsWith('--token-file=')) ?? '', /secrets\/dev\/web_token@/);
    assert.equal(JSON.stringify(recorded()).includes(SHOP_TOKEN), false);

    const again = await shop.p.kiln(['deploy', 'r1', '--env', 'dev', '--dry-run']);
    assert.match(again.stdout, /no change to the configuration running now/);
    assert.match(again.stdout, new RegExp(`last deploy ${dry.config.digest.slice(0, 19)} \\(deployment 2, r1\\)`));
  });
});
