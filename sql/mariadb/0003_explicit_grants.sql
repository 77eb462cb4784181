-- authd schema v3 (MariaDB): explicit grants. all_services = 1: the account may use every
-- service (it has no grants rows); 0: exactly the services in grants — possibly none, after the
-- last revoke. Accounts that had grants keep exactly those; accounts without keep every service.
-- User names compare with a NO PAD collation from now on, as SQLite's BINARY does: "bob " is
-- never bob (authd refuses such names anyway; rows written by other tools compare the same).
-- Every statement may run twice (MariaDB's DDL is not transactional).
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS all_services TINYINT NOT NULL DEFAULT 1;
UPDATE accounts SET all_services = 0 WHERE id IN (SELECT account_id FROM grants);
ALTER TABLE accounts MODIFY username VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL;
ALTER TABLE events MODIFY username VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin NOT NULL;
