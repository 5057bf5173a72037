import type { CommandDef } from '../command.js';
import { loadProjectSpec } from '../../env/project-spec.js';
import { environmentOf } from '../../spec/lookup.js';
import { ApiClient } from '../../server/client.js';
import { openStore } from '../../store/init.js';
import { RuntimeState } from '../../store/runtime-state.js';
import { rebuildWorld, type RebuildEvent } from '../../rebuild/world.js';
import { deployRebuild } from '../../rebuild/deploy.js';
import { findKilnDir } from '../project.js';

export const rebuildCommand: CommandDef = {
  name: 'rebuild',
  summary: 'rebuild the world: every OS base, app and image from its inputs; a release if anything changed',
  description:
    'Everything is cached by content: an OS base is rebuilt only when its inputs (or the mirror) changed and\n' +
    'tagged only when its packages changed; an app whose source is unchanged is not built, and a build with\n' +
    'the same content is no new tag (new content is tagged <head version>-<first 8 hex of its digest>); an\n' +
    'image is rebuilt when its app or OS tag changed. A release is made only if something changed.\n' +
    'With --deploy <env>, the release runs first in a side-by-side environment <env>-rebuild-<n> (like <env>,\n' +
    'with a replica of its data); only when every cluster there is healthy is it deployed to <env>, where\n' +
    'only the changed clusters switch. The side-by-side environment is then destroyed. With --json, one JSON\n' +
    'event per line, then a {"type":"result"} line.',
  positionals: [],
  options: { deploy: { type: 'string', value: '<env>', description: 'deploy the new release to this environment (side by side first)' } },
  json: true,
  examples: ['kiln rebuild', 'kiln rebuild --deploy prod', 'kiln rebuild --json'],
  async run(ctx) {
    const spec = loadProjectSpec(ctx.cwd);
    const target = typeof ctx.options.deploy === 'string' ? ctx.options.deploy : undefined;
    if (target) environmentOf(spec, target);
    // Check the control plane answers before building anything a deploy would need.
    const client = target ? new ApiClient(findKilnDir(ctx.cwd)) : undefined;
    const emit = (e: RebuildEvent): void => {
      if (ctx.json) ctx.out(JSON.stringify({ type: 'event', at: new Date().toISOString(), ...e }));
      else ctx.progress(`${e.message}`);
    };
    const store = openStore(spec.dir);
    try {
      const result = await rebuildWorld(store, spec, { onEvent: emit, onLine: (stream, l) => !ctx.json && ctx.progress(`  ${stream} | ${l}`) });
      const deploy = client && target ? await deployRebuild(client, new RuntimeState(store.db), target, result.release, emit) : null;
      if (ctx.json) ctx.out(JSON.stringify({ type: 'result', ...result, deploy }));
      else {
        const changedApps = result.apps.filter((a) => a.changed).map((a) => `app/${a.service}:${a.tag}`);
        const changedOs = result.os.filter((o) => o.changed).map((o) => `os/${o.base}:${o.tag}`);
        const summary = result.release.created
          ? `${result.release.name} ${result.release.digest}: ${[...changedOs, ...changedApps].join(', ') || 'configuration changed'}`
          : `nothing changed: no new tag, no new release (latest is ${result.release.name})`;
        ctx.out(summary + (deploy ? (deploy.deployed ? `\ndeployed ${deploy.release} to ${deploy.env} via ${deploy.sideBySide}; switched: ${deploy.switched.join(', ') || 'none'}` : `\n${deploy.env} already runs ${deploy.release}`) : ''));
      }
      return 0;
    } finally {
      store.db.close();
    }
  },
};
