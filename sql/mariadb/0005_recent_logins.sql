-- authd schema v5 (MariaDB): recent logins, for the self-service page. One row per account,
-- service, client address and credential (app_password_id 0 = the account's own password), so a
-- mail client that reconnects all day is one row with a count, not thousands. Rows not used for
-- 30 days are deleted as the account logs in again. Every statement may run twice.
CREATE TABLE IF NOT EXISTS recent_logins (
  account_id      BIGINT      NOT NULL,
  service         VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  ip              VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  app_password_id BIGINT      NOT NULL DEFAULT 0,
  first_at        BIGINT      NOT NULL,
  last_at         BIGINT      NOT NULL,
  logins          BIGINT      NOT NULL DEFAULT 1,
  PRIMARY KEY (account_id, service, ip, app_password_id),
  KEY recent_logins_by_time (account_id, last_at),
  CONSTRAINT recent_logins_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
