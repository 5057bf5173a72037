// Migration 9 of state.db: indexes that keep what the control plane does all day independent of
// how much history state.db holds. Groups and events are never deleted (build numbers never
// repeat, events are the record), so after a year of deploys most rows are history: destroyed
// groups and their events. The loops (the reconciler every 250 ms, the health monitor every
// second), status and every deploy ask about the few live rows; these indexes let them reach
// those rows without reading the history (store/runtime-state.ts writes its queries so
// SQLite picks them; store/history-indexes.test.ts holds the query plans to that).
export const HISTORY_INDEXES_SQL = `
-- Groups by state: the loops ask for the maintained states across all clusters. Only live rows
-- are reached; the destroyed and failed ones sit apart under their own keys.
CREATE INDEX server_groups_state ON server_groups(state, cluster, build);
-- The newest event about a group or server (why a group failed, for status).
CREATE INDEX events_subject ON events(subject, kind);
-- An environment's latest events (GET /v1/events), newest first.
CREATE INDEX events_env ON events(env);
-- An environment's latest deployment (status, env list, rollback), newest first.
CREATE INDEX deployments_env ON deployments(env);
`;
