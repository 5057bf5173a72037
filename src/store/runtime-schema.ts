// Migration 2 of state.db: what runs where. Clusters, their server groups and servers, and the
// deployments with their events. Rows are never reused: a replaced server is a new row with a
// new name, a destroyed group keeps its row (state 'destroyed') so build numbers never repeat.
/**
 * Migration 4: environments created from a release (`kiln env create`), not written in kiln.yaml.
 * `definition` is the environment's settings as JSON (an EnvironmentSpec copied from the
 * kiln.yaml environment it is like); no secret value is ever in it, only secret names.
 */
export const CREATED_ENVIRONMENTS_SQL = `
CREATE TABLE created_environments (
  name        TEXT PRIMARY KEY,
  like_env    TEXT NOT NULL,
  release     TEXT NOT NULL,
  data_from   TEXT,
  definition  TEXT NOT NULL,
  created_at  TEXT NOT NULL
);`;

/** Migration 3: the runtime's own id of a server (podman: the container id). */
export const RUNTIME_REF_SQL = `ALTER TABLE servers ADD COLUMN runtime_ref TEXT;`;

export const RUNTIME_SCHEMA_SQL = `
CREATE TABLE clusters (
  name         TEXT PRIMARY KEY,
  env          TEXT NOT NULL,
  service      TEXT NOT NULL,
  role         TEXT NOT NULL,
  lb_port      INTEGER,
  active_group TEXT,
  next_build   INTEGER NOT NULL DEFAULT 1,
  created_at   TEXT NOT NULL
);
CREATE INDEX clusters_env ON clusters(env);

CREATE TABLE server_groups (
  name          TEXT PRIMARY KEY,
  cluster       TEXT NOT NULL REFERENCES clusters(name),
  build         INTEGER NOT NULL,
  release       TEXT NOT NULL,
  deployment_id INTEGER,
  state         TEXT NOT NULL,
  replicas      INTEGER NOT NULL,
  next_ordinal  INTEGER NOT NULL DEFAULT 1,
  template      TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  changed_at    TEXT NOT NULL,
  UNIQUE (cluster, build)
);
CREATE INDEX server_groups_cluster ON server_groups(cluster, state);

CREATE TABLE servers (
  name        TEXT PRIMARY KEY,
  group_name  TEXT NOT NULL REFERENCES server_groups(name),
  ordinal     INTEGER NOT NULL,
  state       TEXT NOT NULL,
  pid         INTEGER,
  start_time  TEXT,
  port        INTEGER,
  created_at  TEXT NOT NULL,
  changed_at  TEXT NOT NULL,
  detail      TEXT
);
CREATE INDEX servers_group ON servers(group_name, state);

CREATE TABLE deployments (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  env         TEXT NOT NULL,
  release     TEXT NOT NULL,
  kind        TEXT NOT NULL,
  state       TEXT NOT NULL,
  started_at  TEXT NOT NULL,
  finished_at TEXT,
  error       TEXT
);

CREATE TABLE events (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  at            TEXT NOT NULL,
  deployment_id INTEGER,
  env           TEXT,
  cluster       TEXT,
  subject       TEXT,
  kind          TEXT NOT NULL,
  message       TEXT NOT NULL
);
CREATE INDEX events_deployment ON events(deployment_id);

CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
`;
