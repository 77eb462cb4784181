-- authd schema v2 (SQLite): sources (IPv4 address / IPv6 /64) an account logged in from
-- successfully, for the throttle's "familiar sources". Rows older than [throttle] familiar_days
-- are deleted as the account logs in again.
CREATE TABLE IF NOT EXISTS familiar_sources (
  account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  source          TEXT    NOT NULL,
  last_success_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, source)
);
