import type { CommandDef } from '../command.js';
import { formatTable } from '../../util/table.js';
import { KilnError } from '../../errors.js';
import { findSpecFile, loadSpec } from '../../spec/load.js';
import { openStore, type Store } from '../../store/init.js';
import { listStreams, listTags, resolveTag } from '../../streams/app/tags.js';
import { buildOs, diffBom, osStream, osTagSource, readBom } from '../../streams/os/index.js';

async function withStore<T>(cwd: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const spec = loadSpec(findSpecFile(cwd));
  const store = openStore(spec.dir);
  try {
    return await fn(store);
  } finally {
    store.db.close();
  }
}

export const osBuildCommand: CommandDef = {
  name: 'os build',
  summary: 'build an OS base from kiln.yaml and tag it os/<base>:<YYYY.MM.DD>.<n>',
  description:
    'debian bases are built with mmdebstrap (minbase plus `include`) under a fixed SOURCE_DATE_EPOCH, so\n' +
    'the same packages give the same digest; import bases read a rootfs tar or an OCI archive and check\n' +
    'its digests. Unchanged inputs (and, for debian, an unchanged mirror Release file) are a cache hit.',
  positionals: [{ name: 'base', required: true, description: 'OS base from kiln.yaml (os.<base>)' }],
  options: { force: { type: 'boolean', description: 'build even when the inputs are unchanged (a tag is still only made for new content)' } },
  json: true,
  examples: ['kiln os build bookworm'],
  async run(ctx) {
    const base = ctx.positionals[0] as string;
    const spec = loadSpec(findSpecFile(ctx.cwd));
    return withStore(ctx.cwd, async (store) => {
      const r = await buildOs(store, spec, base, { force: ctx.options['force'] === true, onProgress: (l) => ctx.progress(l) });
      const name = `${r.tag.stream}:${r.tag.tag}`;
      if (ctx.json) ctx.outJson({ ...r.tag, created: r.created, cached: r.cached, packages: r.packages });
      else {
        const why = r.cached ? ' — inputs unchanged (cache hit)' : r.created ? '' : ' — same content as the newest tag';
        ctx.out(`${name} ${r.tag.digest} (${r.packages} packages, ${r.tag.size} bytes)${why}`);
      }
      return 0;
    });
  },
};

export const osListCommand: CommandDef = {
  name: 'os list',
  summary: 'list OS tags, newest last',
  positionals: [{ name: 'base', required: false, description: 'only this base' }],
  options: {},
  json: true,
  async run(ctx) {
    return withStore(ctx.cwd, async (store) => {
      const streams = ctx.positionals[0] ? [osStream(ctx.positionals[0])] : listStreams(store.db, 'os/');
      const tags = streams.flatMap((s) => listTags(store.db, s));
      if (ctx.json) ctx.outJson(tags.map((t) => ({ ...t, packages: osTagSource(t).packages })));
      else ctx.out(tags.length ? formatTable(['TAG', 'DIGEST', 'PACKAGES', 'CREATED'], tags.map((t) => [`${t.stream}:${t.tag}`, t.digest, String(osTagSource(t).packages), t.createdAt])) : 'no OS tags yet: kiln os build <base>');
      return 0;
    });
  },
};

function parseOsRef(arg: string, flag: string): { stream: string; tag: string } {
  const m = /^(?:os\/)?([a-z0-9-]+):(.+)$/.exec(arg);
  if (!m) throw new KilnError('USAGE', `"${arg}" is not an OS tag; write <base>:<tag>, e.g. bookworm:2026.01.15.1 (or <base>:head)`, { location: { flag } });
  return { stream: osStream(m[1] as string), tag: m[2] as string };
}

export const osDiffCommand: CommandDef = {
  name: 'os diff',
  summary: 'packages added, removed and upgraded between two OS tags',
  positionals: [
    { name: 'from', required: true, description: '<base>:<tag>' },
    { name: 'to', required: true, description: '<base>:<tag> (or <base>:head)' },
  ],
  options: {},
  json: true,
  examples: ['kiln os diff bookworm:2026.01.15.1 bookworm:head'],
  async run(ctx) {
    const [a, b] = [parseOsRef(ctx.positionals[0] as string, 'from'), parseOsRef(ctx.positionals[1] as string, 'to')];
    return withStore(ctx.cwd, async (store) => {
      const ta = resolveTag(store.db, a.stream, a.tag);
      const tb = resolveTag(store.db, b.stream, b.tag);
      const d = diffBom(readBom(store.oci, osTagSource(ta).bom), readBom(store.oci, osTagSource(tb).bom));
      if (ctx.json) ctx.outJson({ from: `${ta.stream}:${ta.tag}`, to: `${tb.stream}:${tb.tag}`, ...d });
      else {
        const lines = [
          `${ta.stream}:${ta.tag} -> ${tb.stream}:${tb.tag}: ${d.added.length} added, ${d.removed.length} removed, ${d.changed.length} upgraded`,
          ...d.added.map((p) => `+ ${p.name} ${p.version}`),
          ...d.removed.map((p) => `- ${p.name} ${p.version}`),
          ...d.changed.map((p) => `~ ${p.name} ${p.from} -> ${p.to}`),
        ];
        ctx.out(lines.join('\n'));
      }
      return 0;
    });
  },
};

export const OS_COMMANDS: CommandDef[] = [osBuildCommand, osListCommand, osDiffCommand];
