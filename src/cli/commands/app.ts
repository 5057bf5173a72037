import type { CommandDef } from '../command.js';
import { formatTable } from '../../util/table.js';
import { findSpecFile, loadSpec } from '../../spec/load.js';
import { openStore } from '../../store/init.js';
import { appStream, buildAndTagApp, listTags, listStreams, serviceOf } from '../../streams/app/index.js';
import { buildEnvironmentFor } from '../../runtime/podman/build-in-os.js';

export const appTagCommand: CommandDef = {
  name: 'app tag',
  summary: 'build a service\'s app and tag it app/<service>:<version> (immutable)',
  description:
    'Copies the app to a scratch directory, runs its build command there, packs the result as a\n' +
    'deterministic tar layer and tags it. The same version with the same content is a no-op; with\n' +
    'other content it is an error: tags never move.',
  positionals: [
    { name: 'service', required: true, description: 'service from kiln.yaml' },
    { name: 'version', required: true, description: 'tag, e.g. 1.4.2 ([A-Za-z0-9_][A-Za-z0-9._-]*, not "head")' },
  ],
  options: {},
  json: true,
  examples: ['kiln app tag api 1.0.0'],
  async run(ctx) {
    const [service, version] = ctx.positionals as [string, string];
    const spec = loadSpec(findSpecFile(ctx.cwd));
    serviceOf(spec, service);
    const store = openStore(spec.dir);
    try {
      ctx.progress(`building ${appStream(service)}:${version} from ${spec.services[service]?.app.path}`);
      const buildIn = await buildEnvironmentFor(store, spec, service);
      const r = await buildAndTagApp(store, spec, service, version, (line) => ctx.progress(`  | ${line}`), buildIn);
      if (ctx.json) ctx.outJson({ ...r.tag, created: r.created, files: r.files });
      else ctx.out(`${r.tag.stream}:${r.tag.tag} ${r.tag.digest} (${r.files} files, ${r.tag.size} bytes)${r.created ? '' : ' — already tagged with this content'}`);
      return 0;
    } finally {
      store.db.close();
    }
  },
};

export const appListCommand: CommandDef = {
  name: 'app list',
  summary: 'list app tags, newest last (the last is the stream\'s head)',
  positionals: [{ name: 'service', required: false, description: 'only this service' }],
  options: {},
  json: true,
  async run(ctx) {
    const spec = loadSpec(findSpecFile(ctx.cwd));
    const store = openStore(spec.dir);
    try {
      const streams = ctx.positionals[0] ? [appStream(ctx.positionals[0])] : listStreams(store.db, 'app/');
      const tags = streams.flatMap((s) => listTags(store.db, s));
      if (ctx.json) ctx.outJson(tags);
      else ctx.out(tags.length ? formatTable(['TAG', 'DIGEST', 'CREATED'], tags.map((t) => [`${t.stream}:${t.tag}`, t.digest, t.createdAt])) : 'no app tags yet: kiln app tag <service> <version>');
      return 0;
    } finally {
      store.db.close();
    }
  },
};
