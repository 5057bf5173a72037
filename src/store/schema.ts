// Kiln's own schema migrations for .kiln/state.db. Append only: a released migration is never
// edited (a database in the field already ran it); change the schema with a new version.
// Each one runs in its own transaction and is recorded in schema_migrations.
import { CRASH_LOOP_FAILURES_SQL } from './crash-loop-failures.js';
import { DEPLOY_LOCKS_SQL } from './deploy-lock.js';
import { ISOLATION_IDS_SQL } from './isolation-ids.js';
import { DEPLOYMENT_CONFIGS_SQL } from './deployment-configs.js';
import { HISTORY_INDEXES_SQL } from './history-indexes.js';
import { TRAFFIC_MODES_SQL } from './traffic-modes.js';
import { CANARIES_SQL } from './canaries.js';
import { CREATED_ENVIRONMENTS_SQL, RUNTIME_REF_SQL, RUNTIME_SCHEMA_SQL } from './runtime-schema.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'tags and releases',
    sql: `
      -- One row per immutable tag of a stream ("app/api" : "1.0.0").
      -- seq is the order tags were made in (head = highest seq of a stream); SQLite only
      -- autoincrements an INTEGER PRIMARY KEY, so (stream, tag) is a UNIQUE key instead.
      CREATE TABLE tags (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        stream     TEXT NOT NULL,
        tag        TEXT NOT NULL,
        -- digest of the tag's content (for app tags: the uncompressed tar layer)
        digest     TEXT NOT NULL,
        size       INTEGER NOT NULL,
        -- digest of the OCI manifest stored under the ref "<stream>:<tag>"
        manifest_digest TEXT NOT NULL,
        created_at TEXT NOT NULL,
        -- where it came from, JSON, e.g. {"path":"apps/api","build":["npm","ci"]}
        source     TEXT NOT NULL DEFAULT '{}',
        UNIQUE (stream, tag)
      );
      CREATE INDEX tags_stream_seq ON tags (stream, seq);

      CREATE TABLE releases (
        number     INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        -- digest of the release manifest's canonical JSON blob in the OCI layout
        digest     TEXT NOT NULL,
        parent     TEXT,
        created_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'clusters, server groups, servers, deployments, events',
    sql: RUNTIME_SCHEMA_SQL,
  },
  {
    version: 3,
    name: 'servers.runtime_ref (container ids)',
    sql: RUNTIME_REF_SQL,
  },
  {
    version: 4,
    name: 'environments created from a release (kiln env create)',
    sql: CREATED_ENVIRONMENTS_SQL,
  },
  {
    version: 5,
    name: 'deploy locks with owner and expiry',
    sql: DEPLOY_LOCKS_SQL,
  },
  {
    version: 6,
    name: 'crash-loop failure times per server group',
    sql: CRASH_LOOP_FAILURES_SQL,
  },
  {
    version: 7,
    name: 'uids and gids of the servers and builds (isolation)',
    sql: ISOLATION_IDS_SQL,
  },
  {
    version: 8,
    name: 'the configuration each deployment rendered (flags and scale from kiln.yaml)',
    sql: DEPLOYMENT_CONFIGS_SQL,
  },
  {
    version: 9,
    name: 'indexes for the live rows the loops, status and deploys read (history apart)',
    sql: HISTORY_INDEXES_SQL,
  },
  {
    version: 10,
    name: 'traffic modes per cluster (pause, maintenance)',
    sql: TRAFFIC_MODES_SQL,
  },
  {
    version: 11,
    name: 'canary releases in progress (step, clock, baseline counts, pending rollout commands)',
    sql: CANARIES_SQL,
  },
  {
    version: 12,
    name: 'who started each deployment (the CLI and its user, the dashboard, the control plane itself)',
    sql: 'ALTER TABLE deployments ADD COLUMN started_by TEXT;',
  },
];
