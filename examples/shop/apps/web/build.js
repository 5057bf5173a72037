'use strict';
// The web app's build step (kiln.yaml: build: [node, build.js]), run by Kiln in a scratch copy
// of apps/web. It writes build-info.json; the content depends only on the sources (no
// timestamps, sorted keys), so building the same source twice gives the same tag digest.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');

const dir = __dirname;
const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
const sources = {};
for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.js')).sort()) {
  sources[name] = 'sha256:' + crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, name))).digest('hex');
}
const info = { app: pkg.name, version: pkg.version, sources };
fs.writeFileSync(path.join(dir, 'build-info.json'), JSON.stringify(info, null, 2) + '\n');
process.stdout.write(`built ${pkg.name} ${pkg.version}: build-info.json (${Object.keys(sources).length} sources)\n`);
