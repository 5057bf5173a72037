// The data stream (ARCHITECTURE.md, "Data layer"): changelogs, migrations, snapshots, replicas.
export * from './bindings.js';
export * from './changelog.js';
export * from './deploy.js';
export * from './engine.js';
export * from './gate.js';
export * from './history.js';
export * from './lint.js';
export * from './lock.js';
export * from './migrate.js';
export * from './migrate-job.js';
export * from './off-thread.js';
export * from './replica.js';
export * from './snapshot.js';
export * from './tags.js';
export { parsePgUrl, pgDumpCommand, pgRestoreCommand, type PgTarget, type ToolCommand } from './postgres.js';
export * from './templates.js';
