-- authd schema v3 (SQLite): explicit grants. all_services = 1: the account may use every service
-- (it has no grants rows); 0: exactly the services in grants — possibly none, after the last
-- revoke. Accounts that had grants keep exactly those; accounts without keep every service.
ALTER TABLE accounts ADD COLUMN all_services INTEGER NOT NULL DEFAULT 1;
UPDATE accounts SET all_services = 0 WHERE id IN (SELECT account_id FROM grants);
