-- authd schema v5 (SQLite): recent logins, for the self-service page. One row per account,
-- service, client address and credential (app_password_id 0 = the account's own password), so a
-- mail client that reconnects all day is one row with a count, not thousands. Rows not used for
-- 30 days are deleted as the account logs in again.
CREATE TABLE IF NOT EXISTS recent_logins (
  account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  service         TEXT    NOT NULL,
  ip              TEXT    NOT NULL,
  app_password_id INTEGER NOT NULL DEFAULT 0,
  first_at        INTEGER NOT NULL,
  last_at         INTEGER NOT NULL,
  logins          INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (account_id, service, ip, app_password_id)
);
CREATE INDEX IF NOT EXISTS recent_logins_by_time ON recent_logins (account_id, last_at);
