import type { CommandDef } from '../command.js';
import { KilnError } from '../../errors.js';
import { findSpecFile, loadSpec } from '../../spec/load.js';
import { openStore } from '../../store/init.js';
import { buildServiceImage, findServiceImage, ociTransportRef, type Compression, type ImageRecord } from '../../image/index.js';

function describe(r: ImageRecord, ociDir: string): string {
  return [
    `image ${r.digest}  (${r.size} bytes)`,
    `  built from  ${r.app.stream}:${r.app.tag} on ${r.os.stream}:${r.os.tag}`,
    `  entrypoint  ${JSON.stringify(r.entrypoint)} in /app, flags appended`,
    ...r.layers.map((l) => `  ${l.role.padEnd(9)} ${l.diffId}  ${l.size} bytes${l.digest !== l.diffId ? `  (blob ${l.digest})` : ''}`),
    `  run it      podman run --init ${ociTransportRef(ociDir, r.ref)}`,
  ].join('\n');
}

export const imageBuildCommand: CommandDef = {
  name: 'image build',
  summary: 'write a service\'s OCI image: OS layer + Kiln platform layer + app layer',
  description:
    'Built from tags (the service\'s head app tag and its OS base\'s head tag unless given), into\n' +
    '.kiln/oci as image/<service>:sha256-<hex> and image/<service>:<app tag>. No daemon is used; the\n' +
    'same tags always give the same digest.',
  positionals: [{ name: 'service', required: true, description: 'service from kiln.yaml (it needs `os`)' }],
  options: {
    'app-tag': { type: 'string', value: '<tag>', description: 'app tag to build from', default: 'head' },
    'os-tag': { type: 'string', value: '<tag>', description: 'tag of the service\'s OS base', default: 'head' },
    compress: { type: 'string', value: '<none|gzip>', description: 'layer blobs as stored; gzip only for pushing to a registry', default: 'none' },
  },
  json: true,
  examples: ['kiln image build api', 'kiln image build api --app-tag 1.0.0'],
  async run(ctx) {
    const spec = loadSpec(findSpecFile(ctx.cwd));
    const compress = (ctx.options['compress'] as string | undefined) ?? 'none';
    if (compress !== 'none' && compress !== 'gzip') throw new KilnError('USAGE', `--compress must be none or gzip, not "${compress}"`, { location: { flag: '--compress' } });
    const store = openStore(spec.dir);
    try {
      const r = await buildServiceImage(store, spec, ctx.positionals[0] as string, {
        ...(ctx.options['app-tag'] ? { appTag: ctx.options['app-tag'] as string } : {}),
        ...(ctx.options['os-tag'] ? { osTag: ctx.options['os-tag'] as string } : {}),
        compression: compress as Compression,
      });
      if (ctx.json) ctx.outJson(r);
      else ctx.out(describe(r, store.oci.dir));
      return 0;
    } finally {
      store.db.close();
    }
  },
};

export const imageInspectCommand: CommandDef = {
  name: 'image inspect',
  summary: 'layers, digests, sizes and the tags a service\'s image was built from',
  positionals: [{ name: 'service', required: true, description: 'service from kiln.yaml' }],
  options: { 'app-tag': { type: 'string', value: '<tag>', description: 'the image of this app tag', default: 'head' } },
  json: true,
  examples: ['kiln image inspect api --json'],
  async run(ctx) {
    const spec = loadSpec(findSpecFile(ctx.cwd));
    const store = openStore(spec.dir);
    try {
      const r = findServiceImage(store, ctx.positionals[0] as string, (ctx.options['app-tag'] as string | undefined) ?? 'head');
      if (ctx.json) ctx.outJson(r);
      else ctx.out(describe(r, store.oci.dir));
      return 0;
    } finally {
      store.db.close();
    }
  },
};

export const IMAGE_COMMANDS: CommandDef[] = [imageBuildCommand, imageInspectCommand];
