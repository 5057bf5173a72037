// `kiln data status|migrate|snapshot|replica|lint <store>`: the data stream's verbs. They work on
// the store directly (no control plane), like the build side. Only argument parsing here; the
// logic is in src/streams/data/.
import { existsSync } from 'node:fs';
import { KilnError } from '../../errors.js';
import { loadProjectSpec } from '../../env/project-spec.js';
import type { ProjectSpec } from '../../spec/types.js';
import { kilnDirOf, openStore } from '../../store/init.js';
import {
  changelogOf,
  compareHistory,
  connectStore,
  createReplica,
  describeLocation,
  findSnapshot,
  formatPosition,
  lintChangelog,
  locateStore,
  describeProgress,
  runOffThread,
  prunePgTemplates,
  snapshotStore,
  storeEngines,
  storeOf,
  storeStatus,
  type PgReplicaStrategy,
} from '../../streams/data/index.js';
import { parseDuration } from '../../spec/dsl.js';
import type { CommandContext, CommandDef, OptionDef } from '../command.js';
import { requireEnv } from '../env-option.js';

const storeArg = { name: 'store', required: true, description: 'data store from kiln.yaml' };
// Required like every run-side command's: a data command never picks an environment silently.
const envOpt: OptionDef = { type: 'string', short: 'e', value: '<env>', description: 'environment from kiln.yaml or kiln env create (required)' };
const toPositionOpt: OptionDef = { type: 'string', value: '<n>', description: 'apply the changelog only up to this position (default: its head)' };

function envOf(ctx: CommandContext): string {
  return requireEnv(ctx);
}

function toPositionOf(ctx: CommandContext): number | undefined {
  const v = ctx.options['to-position'];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^\d+$/.test(v)) {
    throw new KilnError('USAGE', `--to-position must be a whole number, got "${String(v)}"`, { location: { flag: '--to-position' } });
  }
  return Number(v);
}

function specAndStore(ctx: CommandContext): { spec: ProjectSpec; store: string } {
  // Created environments (kiln env create) are environments too.
  const spec = loadProjectSpec(ctx.cwd);
  const store = ctx.positionals[0] as string;
  storeOf(spec, store);
  return { spec, store };
}

export const dataStatusCommand: CommandDef = {
  name: 'data status',
  summary: 'a store\'s changelog head, applied and pending entries, and checksum problems',
  positionals: [storeArg],
  options: { env: envOpt },
  json: true,
  examples: ['kiln data status orders --env dev'],
  async run(ctx) {
    const env = envOf(ctx);
    const { spec, store } = specAndStore(ctx);
    const loc = locateStore(spec, kilnDirOf(spec.dir), env, store);
    const changelog = changelogOf(spec, store);
    // A read command must not create the store: opening a missing SQLite file would make it.
    if (loc.engine === 'sqlite' && !existsSync(loc.file)) {
      const s = compareHistory(changelog, []);
      if (ctx.json) ctx.outJson({ store, env: loc.env, engine: loc.engine, created: false, head: s.head, position: 0, applied: [], pending: s.pending.map((e) => ({ position: e.position, name: e.name, checksum: e.checksum })), problems: [] });
      else ctx.out([`${describeLocation(loc)}: not created yet (changelog head ${formatPosition(s.head)}); \`kiln data migrate ${store} --env ${loc.env}\` or a deploy creates it`, ...s.pending.map((p) => `  pending  ${p.name}`)].join('\n'));
      return 0;
    }
    const conn = await connectStore(loc);
    try {
      const s = await storeStatus(conn, changelog);
      if (ctx.json) {
        ctx.outJson({ store, env: loc.env, engine: loc.engine, created: true, head: s.head, position: s.position, applied: s.applied, pending: s.pending.map((e) => ({ position: e.position, name: e.name, checksum: e.checksum })), problems: s.problems });
      } else {
        const lines = [`${describeLocation(loc)}: at ${formatPosition(s.position)}, changelog head ${formatPosition(s.head)}`];
        for (const a of s.applied) lines.push(`  applied  ${a.name}  ${a.checksum.slice(0, 19)}  ${a.appliedAt}${a.release ? `  ${a.release}` : ''}`);
        for (const p of s.pending) lines.push(`  pending  ${p.name}`);
        for (const p of s.problems) lines.push(`  PROBLEM  ${p.message}`);
        ctx.out(lines.join('\n'));
      }
      return s.problems.length ? 1 : 0;
    } finally {
      await conn.close();
    }
  },
};

export const dataMigrateCommand: CommandDef = {
  name: 'data migrate',
  summary: 'apply a store\'s pending changelog entries, each in its own transaction',
  description:
    'Refuses (and applies nothing) when an applied entry was edited, removed or skipped, when an entry\n' +
    'would end Kiln\'s transaction (COMMIT, BEGIN, …), or when an entry would break servers still running\n' +
    'the previous release (the same check as deploy; --breaking applies it anyway). Waits for a lock\n' +
    'another connection holds up to --lock-wait (default: the store\'s lock-wait, 30s), then DATA_LOCKED.',
  positionals: [storeArg],
  options: {
    env: envOpt,
    'to-position': toPositionOpt,
    breaking: { type: 'boolean', description: 'apply entries that would break the previous release\'s servers (drop, rename, NOT NULL)' },
    'lock-wait': { type: 'string', value: '<duration>', description: 'how long to wait for another connection\'s lock, e.g. 10s (default: data.<store>.lock-wait, 30s)' },
  },
  json: true,
  examples: ['kiln data migrate orders --env dev', 'kiln data migrate orders --env dev --to-position 2', 'kiln data migrate orders --env dev --breaking'],
  async run(ctx) {
    const env = envOf(ctx);
    const { spec, store } = specAndStore(ctx);
    const loc = locateStore(spec, kilnDirOf(spec.dir), env, store);
    const changelog = changelogOf(spec, store);
    const toPosition = toPositionOf(ctx);
    const lockWaitMs = lockWaitOf(ctx) ?? spec.data[store]?.lockWaitMs;
    // The same gate as deploy (gate.ts); the migration runs on a worker thread (off-thread.ts).
    const r = await runOffThread(
      {
        target: { kind: 'store', loc },
        changelog,
        what: describeLocation(loc),
        ...(toPosition !== undefined ? { toPosition } : {}),
        breaking: { allow: ctx.options['breaking'] === true, override: `pass --breaking (kiln data migrate ${store} --env ${loc.env} --breaking)` },
        ...(lockWaitMs !== undefined ? { lockWaitMs, waitMs: lockWaitMs } : {}),
      },
      {
        onProgress: (p) => {
          const line = describeProgress(p);
          if (line) ctx.progress(line);
        },
      },
    );
    const result = { from: r.from, to: r.to, applied: r.applied };
    if (ctx.json) ctx.outJson({ store, env: loc.env, ...result });
    else ctx.out(r.applied.length ? `${store} (${loc.env}): ${formatPosition(r.from)} -> ${formatPosition(r.to)}, ${r.applied.length} entries applied` : `${store} (${loc.env}) is at ${formatPosition(r.to)}: nothing to apply`);
    return 0;
  },
};

function lockWaitOf(ctx: CommandContext): number | undefined {
  const v = ctx.options['lock-wait'];
  if (v === undefined) return undefined;
  const ms = typeof v === 'string' ? parseDuration(v) : null;
  if (ms === null) throw new KilnError('USAGE', `--lock-wait must be a duration such as 500ms, 10s or 2m, got "${String(v)}"`, { location: { flag: '--lock-wait' } });
  return ms;
}

export const dataSnapshotCommand: CommandDef = {
  name: 'data snapshot',
  summary: 'copy a store into the content-addressed store, tagged data/<store>:<position>-<n>',
  positionals: [storeArg],
  options: { env: envOpt },
  json: true,
  examples: ['kiln data snapshot orders --env prod'],
  async run(ctx) {
    const env = envOf(ctx);
    const { spec, store } = specAndStore(ctx);
    const st = openStore(spec.dir);
    try {
      const loc = locateStore(spec, st.kilnDir, env, store);
      const r = await snapshotStore(st, loc, changelogOf(spec, store));
      if (ctx.json) ctx.outJson({ ref: r.ref, ...r.tag });
      else ctx.out(`${r.ref} ${r.tag.digest} (${r.tag.size} bytes, position ${formatPosition(r.tag.source.position)})`);
      return 0;
    } finally {
      st.db.close();
    }
  },
};

export const dataReplicaCommand: CommandDef = {
  name: 'data replica',
  summary: 'a new store from a snapshot, the changelog applied; renamed into place only when complete',
  description:
    'The snapshot is --snapshot <tag>, else the newest snapshot of --from <env> at or before --to-position.\n' +
    'The replica is built under a temporary name: a failure or a kill leaves nothing half-made.',
  positionals: [storeArg],
  options: {
    env: { ...envOpt, description: 'environment the replica is for' },
    from: { type: 'string', value: '<env>', description: 'use the newest snapshot of this environment' },
    snapshot: { type: 'string', value: '<tag>', description: 'use this data tag, e.g. 0003-1' },
    'to-position': toPositionOpt,
    replace: { type: 'boolean', description: 'replace the environment\'s existing store' },
    strategy: { type: 'string', value: '<template|restore>', description: 'PostgreSQL: copy a template database (default) or pg_restore each time' },
  },
  json: true,
  examples: ['kiln data replica orders --from prod --env test-r7', 'kiln data replica orders --snapshot 0002-1 --env dev --replace'],
  async run(ctx) {
    const env = envOf(ctx);
    const { spec, store } = specAndStore(ctx);
    const from = ctx.options['from'];
    const tag = ctx.options['snapshot'];
    if (typeof from !== 'string' && typeof tag !== 'string') {
      throw new KilnError('USAGE', 'say which snapshot: --from <env> or --snapshot <tag>', { location: { flag: '--from' } });
    }
    const strategy = ctx.options['strategy'];
    if (strategy !== undefined && strategy !== 'template' && strategy !== 'restore') {
      throw new KilnError('USAGE', `--strategy must be template or restore, got "${String(strategy)}"`, { location: { flag: '--strategy' } });
    }
    const toPosition = toPositionOf(ctx);
    const st = openStore(spec.dir);
    try {
      const loc = locateStore(spec, st.kilnDir, env, store);
      const snap = findSnapshot(st.db, store, typeof tag === 'string' ? { tag } : { env: from as string, ...(toPosition !== undefined ? { maxPosition: toPosition } : {}) });
      ctx.progress(`replica of ${store} for ${loc.env} from data/${store}:${snap.tag}`);
      const r = await createReplica(st, loc, changelogOf(spec, store), snap, {
        ...(toPosition !== undefined ? { toPosition } : {}),
        replace: ctx.options['replace'] === true,
        ...(strategy ? { pgStrategy: strategy as PgReplicaStrategy } : {}),
      });
      if (ctx.json) ctx.outJson(r);
      else ctx.out(`${describeLocation(loc)}: from ${r.snapshot}, ${r.migrate.applied.length} entries applied, at ${formatPosition(r.migrate.to)}`);
      return 0;
    } finally {
      st.db.close();
    }
  },
};

export const dataLintCommand: CommandDef = {
  name: 'data lint',
  summary: 'changelog entries that would break servers still running the previous release, or escape their transaction',
  description:
    'DROP TABLE/COLUMN, RENAME, ALTER COLUMN TYPE, NOT NULL without DEFAULT. An entry with a\n"-- kiln:breaking" header is allowed (listed, exit 0).\n' +
    'COMMIT, BEGIN, END, ROLLBACK, SAVEPOINT, RELEASE, START/PREPARE TRANSACTION: refused always (Kiln runs each\nentry in its own transaction). Strings, quoted names, comments and $$ bodies are skipped.',
  positionals: [storeArg],
  options: { after: { type: 'string', value: '<n>', description: 'only entries after this position' } },
  json: true,
  examples: ['kiln data lint orders'],
  async run(ctx) {
    const { spec, store } = specAndStore(ctx);
    const after = ctx.options['after'];
    if (after !== undefined && (typeof after !== 'string' || !/^\d+$/.test(after))) {
      throw new KilnError('USAGE', `--after must be a whole number, got "${String(after)}"`, { location: { flag: '--after' } });
    }
    // Checked as each engine the store runs on (environments may override its engine) reads it.
    const findings = lintChangelog(changelogOf(spec, store), after ? Number(after) : 0, storeEngines(spec, store));
    if (ctx.json) ctx.outJson(findings);
    else ctx.out(findings.length ? findings.map((f) => `${f.file}:${f.line}:${f.column}: ${f.reason}${f.allowed ? ' (allowed: kiln:breaking)' : ''}`).join('\n') : `${store}: no breaking entries, no transaction statements`);
    return findings.some((f) => !f.allowed) ? 1 : 0;
  },
};

export const dataPruneCommand: CommandDef = {
  name: 'data prune',
  summary: 'drop PostgreSQL template databases of a store\'s older snapshots (all with --all) and temporaries of killed replicas',
  description:
    'Replicas copy a snapshot\'s template database (kiln_snap_<digest>) on the target server. Snapshots and replicas already drop older ones; this does it on demand. --all drops the newest too (the next replica restores it again). Temporary databases (<db>_kt_…) that a killed replica left, and that no live process owns, are dropped too.',
  positionals: [storeArg],
  options: { env: envOpt, all: { type: 'boolean', description: 'drop every template of the store, the newest snapshot\'s too' } },
  json: true,
  examples: ['kiln data prune orders --env staging', 'kiln data prune orders --env staging --all'],
  async run(ctx) {
    const env = envOf(ctx);
    const { spec, store } = specAndStore(ctx);
    const st = openStore(spec.dir);
    try {
      const loc = locateStore(spec, st.kilnDir, env, store);
      if (loc.engine !== 'postgres') {
        if (ctx.json) ctx.outJson({ store, env: loc.env, engine: loc.engine, kept: [], dropped: [], failed: [] });
        else ctx.out(`${describeLocation(loc)}: SQLite stores have no template databases; nothing to prune`);
        return 0;
      }
      const r = await prunePgTemplates(st, loc, { all: ctx.options['all'] === true });
      if (ctx.json) ctx.outJson({ store, env: loc.env, engine: loc.engine, ...r });
      else {
        const lines = [`${describeLocation(loc)}: ${r.dropped.length} template(s) dropped, ${r.kept.length} kept`];
        for (const d of r.dropped) lines.push(`  dropped  ${d}`);
        for (const k of r.kept) lines.push(`  kept     ${k}`);
        for (const f of r.failed) lines.push(`  FAILED   ${f.name}: ${f.error}`);
        for (const d of r.temporaries ?? []) lines.push(`  dropped  ${d} (left by a killed replica)`);
        ctx.out(lines.join('\n'));
      }
      return r.failed.length ? 1 : 0;
    } finally {
      st.db.close();
    }
  },
};

export const DATA_COMMANDS: CommandDef[] = [dataStatusCommand, dataMigrateCommand, dataSnapshotCommand, dataReplicaCommand, dataLintCommand, dataPruneCommand];
