-- authd schema v1 (MariaDB 10.11). utf8mb4 with binary collation: usernames compare byte for
-- byte after authd's own normalisation. Hashes are VARBINARY so any imported byte survives.
CREATE TABLE IF NOT EXISTS accounts (
  id                  BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  username            VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  password_hash       VARBINARY(1024) NOT NULL,
  enabled             TINYINT      NOT NULL DEFAULT 1,
  home                VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  uid                 BIGINT       NULL,
  gid                 BIGINT       NULL,
  created_at          BIGINT       NOT NULL,
  password_changed_at BIGINT       NOT NULL,
  last_login_at       BIGINT       NULL,
  last_login_service  VARCHAR(64)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  UNIQUE KEY accounts_username (username)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS grants (
  account_id BIGINT      NOT NULL,
  service    VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  PRIMARY KEY (account_id, service),
  CONSTRAINT grants_account FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE IF NOT EXISTS events (
  id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at          BIGINT       NOT NULL,
  username    VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  kind        VARCHAR(32)  NOT NULL,
  actor       VARCHAR(32)  NOT NULL,
  from_scheme VARCHAR(64)  NOT NULL DEFAULT '',
  to_scheme   VARCHAR(64)  NOT NULL DEFAULT '',
  detail      VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  KEY events_by_user (username, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
