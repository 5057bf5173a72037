-- The orders the api records. Portable SQL: the same entry runs on SQLite (dev) and PostgreSQL.
CREATE TABLE orders (
  id         INTEGER PRIMARY KEY,
  item       TEXT NOT NULL,
  qty        INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
