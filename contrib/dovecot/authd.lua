-- Dovecot 2.4 removed the checkpassword passdb; its replacement is the Lua passdb. This script
-- asks authd's HTTP API (POST /v1/auth) with the HTTP client Dovecot 2.4 exposes to Lua.
-- NOT TESTED here: Debian 12 ships Dovecot 2.3 (see README, "Which Dovecot uses which path").
-- Config (dovecot.conf, 2.4 syntax):
--   passdb lua {
--     lua_file = /etc/dovecot/authd.lua
--   }
local json = require "json"   -- lua-json / lua-cjson; adjust to the JSON module you have

local authd_url = "http://127.0.0.1:8425/v1/auth"
local http_client = nil

function auth_passdb_init(args)
  http_client = dovecot.http.client {
    timeout = 15000,
    max_attempts = 1,
  }
  return 0
end

function auth_password_verify(req, password)
  local body = json.encode {
    username = req.user,
    password = password,
    service = req.service,
    remote_ip = req.remote_ip,
  }
  local request = http_client:request { url = authd_url, method = "POST" }
  request:add_header("Content-Type", "application/json")
  request:set_payload(body)
  local response = request:submit()
  local status = response:status()
  if status == 200 then
    local answer = json.decode(response:payload())
    return dovecot.auth.PASSDB_RESULT_OK, { user = answer.user }
  elseif status == 401 or status == 403 then
    return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, "rejected by authd"
  end
  -- 429 throttled, 503 store unavailable, anything else: a temporary failure, never a mismatch
  return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, "authd answered " .. status
end

function auth_passdb_lookup(req)
  return dovecot.auth.PASSDB_RESULT_USER_UNKNOWN, "authd verifies passwords only"
end
