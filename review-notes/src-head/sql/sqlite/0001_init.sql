-- authd schema v1 (SQLite). Timestamps are unix seconds. Applied in one transaction.
CREATE TABLE IF NOT EXISTS accounts (
  id                  INTEGER PRIMARY KEY,
  username            TEXT    NOT NULL UNIQUE,
  password_hash       BLOB    NOT NULL,
  enabled             INTEGER NOT NULL DEFAULT 1,
  home                TEXT,
  uid                 INTEGER,
  gid                 INTEGER,
  created_at          INTEGER NOT NULL,
  password_changed_at INTEGER NOT NULL,
  last_login_at       INTEGER,
  last_login_service  TEXT    NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS grants (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  service    TEXT    NOT NULL,
  PRIMARY KEY (account_id, service)
);
CREATE TABLE IF NOT EXISTS events (
  id          INTEGER PRIMARY KEY,
  at          INTEGER NOT NULL,
  username    TEXT    NOT NULL,
  kind        TEXT    NOT NULL,
  actor       TEXT    NOT NULL,
  from_scheme TEXT    NOT NULL DEFAULT '',
  to_scheme   TEXT    NOT NULL DEFAULT '',
  detail      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_by_user ON events (username, id);
