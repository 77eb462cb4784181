-- authd schema v4 (SQLite): app passwords — random secrets made by authd, one per device, each
-- scoped to services, revocable. `verifier` is the BLAKE2b-256 (hex) of the normalised secret:
-- unique, so a login finds its row through the index. main_password_services: NULL = the
-- account's own password is accepted for every service; else a comma-separated list (maybe empty).
CREATE TABLE IF NOT EXISTS app_passwords (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id        INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  verifier          TEXT    NOT NULL UNIQUE,
  label             TEXT    NOT NULL DEFAULT '',
  services          TEXT    NOT NULL,
  created_at        INTEGER NOT NULL,
  expires_at        INTEGER,
  last_used_at      INTEGER,
  last_used_service TEXT    NOT NULL DEFAULT '',
  last_used_ip      TEXT    NOT NULL DEFAULT '',
  revoked_at        INTEGER
);
CREATE INDEX IF NOT EXISTS app_passwords_account ON app_passwords (account_id);
ALTER TABLE accounts ADD COLUMN main_password_services TEXT;
