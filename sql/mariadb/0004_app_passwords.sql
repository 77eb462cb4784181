-- authd schema v4 (MariaDB): app passwords — random secrets made by authd, one per device, each
-- scoped to services, revocable. `verifier` is the BLAKE2b-256 (hex) of the normalised secret:
-- unique, so a login finds its row through the index. main_password_services: NULL = the
-- account's own password is accepted for every service; else a comma-separated list (maybe empty).
-- Every statement may run twice (MariaDB's DDL is not transactional).
CREATE TABLE IF NOT EXISTS app_passwords (
  id                BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id        BIGINT       NOT NULL,
  verifier          CHAR(64)     CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  label             VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  services          VARCHAR(2048) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at        BIGINT       NOT NULL,
  expires_at        BIGINT       NULL,
  last_used_at      BIGINT       NULL,
  last_used_service VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  last_used_ip      VARCHAR(64)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
  revoked_at        BIGINT       NULL,
  UNIQUE KEY app_passwords_verifier (verifier),
  KEY app_passwords_account (account_id),
  CONSTRAINT app_passwords_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS main_password_services VARCHAR(2048) CHARACTER SET ascii COLLATE ascii_bin NULL;
