import type { CommandDef } from '../command.js';
import { formatTable } from '../../util/table.js';
import { EXIT_DIFFERENCES } from '../exit-codes.js';
import { findSpecFile, loadSpec } from '../../spec/load.js';
import { openStore, type Store } from '../../store/init.js';
import { createRelease, diffReleases, formatReleaseDiff, getRelease, listReleases } from '../../release/index.js';
import type { ReleaseImage } from '../../release/types.js';
import type { ProjectSpec } from '../../spec/types.js';
import { buildServiceImage } from '../../image/index.js';
import { listTags } from '../../streams/app/index.js';
import { osStream } from '../../streams/os/index.js';
import { changelogHead, changelogNotes, changelogOf } from '../../streams/data/index.js';
import { diffSources } from '../../release/diff-sources.js';
import { formatDataWarnings, releaseDataFindings } from '../../release/data-warnings.js';

/**
 * The image of every service with an OS base whose stream has a tag. A service whose base was
 * never built gets no image: the release still runs on the process runtime, and says so.
 */
async function releaseImages(store: Store, spec: ProjectSpec, progress: (t: string) => void): Promise<Record<string, ReleaseImage>> {
  const images: Record<string, ReleaseImage> = {};
  for (const [name, svc] of Object.entries(spec.services)) {
    if (!svc.os) continue;
    if (!listTags(store.db, osStream(svc.os)).length) {
      progress(`${name}: os/${svc.os} has no tag yet (kiln os build ${svc.os}): no image; this release runs on the process runtime only`);
      continue;
    }
    const img = await buildServiceImage(store, spec, name);
    images[name] = { digest: img.digest, ref: img.ref, os: { stream: img.os.stream, tag: img.os.tag, digest: img.os.digest } };
    progress(`${name}: image ${img.digest} (${img.app.stream}:${img.app.tag} on ${img.os.stream}:${img.os.tag})`);
  }
  return images;
}

async function withStore<T>(cwd: string, fn: (store: Store) => T): Promise<T> {
  const spec = loadSpec(findSpecFile(cwd));
  const store = openStore(spec.dir);
  try {
    return fn(store);
  } finally {
    store.db.close();
  }
}

export const releaseCreateCommand: CommandDef = {
  name: 'release create',
  summary: 'freeze every service\'s head tag into a new numbered, immutable release',
  description:
    'Also freezes each data store\'s changelog head: deploying the release migrates the environment\'s\n' +
    'stores to it before the switch. If nothing changed since the latest release, no release is made.',
  positionals: [],
  options: {
    breaking: {
      type: 'boolean',
      description: 'the release\'s changelog entries may break the previous release\'s servers (drop, rename, NOT NULL); allow them',
    },
  },
  json: true,
  examples: ['kiln release create'],
  async run(ctx) {
    const spec = loadSpec(findSpecFile(ctx.cwd));
    const store = openStore(spec.dir);
    try {
      const r = createRelease(store.db, store.oci, spec, await releaseImages(store, spec, ctx.progress), {
        data: changelogHead(spec),
        breaking: ctx.options.breaking === true,
      });
      // Files in a changelog directory that are not entries (a README, a parked file): said, not read.
      const notes = Object.keys(spec.data).sort().flatMap((store) => changelogNotes(changelogOf(spec, store)));
      for (const n of notes) ctx.progress(n);
      const rec = 'unchanged' in r ? r.unchanged : r;
      const created = !('unchanged' in r);
      // The entries this release adds that a deploy refuses (or applies only because of --breaking).
      const parent = created && rec.manifest.parent ? getRelease(store.db, store.oci, rec.manifest.parent).manifest : undefined;
      const warnings = created ? releaseDataFindings(spec, rec.manifest, parent) : [];
      for (const line of formatDataWarnings(rec.name, rec.manifest.breaking === true, warnings)) ctx.progress(line);
      if (ctx.json) ctx.outJson({ name: rec.name, digest: rec.digest, parent: rec.manifest.parent, created, warnings, notes });
      else if (!created) ctx.out(`no changes since ${rec.name} (${rec.digest}): no release made`);
      else {
        const services = Object.entries(rec.manifest.services).map(([s, v]) => `${s}=${v.app.tag}`).join(' ');
        ctx.out(`${rec.name} ${rec.digest} ${services}`);
      }
      return 0;
    } finally {
      store.db.close();
    }
  },
};

export const releaseListCommand: CommandDef = {
  name: 'release list',
  summary: 'list releases, oldest first',
  positionals: [],
  options: {},
  json: true,
  async run(ctx) {
    const list = await withStore(ctx.cwd, (s) => listReleases(s.db));
    if (ctx.json) ctx.outJson(list);
    else ctx.out(list.length ? formatTable(['RELEASE', 'DIGEST', 'PARENT', 'CREATED'], list.map((r) => [r.name, r.digest, r.parent ?? '-', r.createdAt])) : 'no releases yet: kiln release create');
    return 0;
  },
};

export const releaseShowCommand: CommandDef = {
  name: 'release show',
  summary: 'show a release\'s manifest: per service the app tag, run command, roles and flags',
  positionals: [{ name: 'release', required: true, description: 'e.g. r3' }],
  options: {},
  json: true,
  async run(ctx) {
    const rec = await withStore(ctx.cwd, (s) => getRelease(s.db, s.oci, ctx.positionals[0] as string));
    if (ctx.json) ctx.outJson(rec);
    else {
      const lines = [`${rec.name}  ${rec.digest}  parent ${rec.manifest.parent ?? '-'}  created ${rec.manifest.createdAt}`];
      for (const [name, s] of Object.entries(rec.manifest.services)) {
        lines.push(`  ${name}: ${s.app.stream}:${s.app.tag} (${s.app.digest})`);
        lines.push(`    run: ${s.run.join(' ')}`);
        for (const [role, r] of Object.entries(s.roles)) {
          lines.push(`    role ${role}: ${r.replicas} replica(s)${r.port ? `, port ${r.port}` : ''}${r.health ? `, health ${r.health.path}` : ''}`);
        }
      }
      ctx.out(lines.join('\n'));
    }
    return 0;
  },
};

export const releaseDiffCommand: CommandDef = {
  name: 'release diff',
  summary: 'what changed between two releases, service by service',
  positionals: [
    { name: 'from', required: true, description: 'older release, e.g. r1' },
    { name: 'to', required: true, description: 'newer release, e.g. r2' },
  ],
  options: {
    'exit-code': { type: 'boolean', description: 'exit 3 when the releases differ, 0 when they are the same (1 stays "failed")' },
  },
  json: true,
  examples: ['kiln release diff r1 r2', 'kiln release diff r1 r2 --exit-code >/dev/null || echo "r2 differs"'],
  async run(ctx) {
    const spec = loadSpec(findSpecFile(ctx.cwd));
    const diff = await withStore(ctx.cwd, (s) =>
      diffReleases(getRelease(s.db, s.oci, ctx.positionals[0] as string), getRelease(s.db, s.oci, ctx.positionals[1] as string), diffSources(s, spec)),
    );
    if (ctx.json) ctx.outJson(diff);
    else ctx.out(formatReleaseDiff(diff));
    const differs = diff.changes.length > 0 || (diff.data?.length ?? 0) > 0;
    return ctx.options['exit-code'] === true && differs ? EXIT_DIFFERENCES : 0;
  },
};
