-- authd schema v2 (MariaDB): sources (IPv4 address / IPv6 /64) an account logged in from
-- successfully, for the throttle's "familiar sources". Rows older than [throttle] familiar_days
-- are deleted as the account logs in again.
CREATE TABLE IF NOT EXISTS familiar_sources (
  account_id      BIGINT      NOT NULL,
  source          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  last_success_at BIGINT      NOT NULL,
  PRIMARY KEY (account_id, source),
  CONSTRAINT familiar_sources_account FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;
