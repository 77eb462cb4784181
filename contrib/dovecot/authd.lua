-- authd passdb + userdb for Dovecot 2.4 (Debian 13), which has no checkpassword passdb.
-- Every password goes to authd (POST /v1/auth), which verifies the stored hash itself — MD5 and
-- other legacy schemes included — and upgrades it, so Dovecot never sees a hash and
-- auth_allow_weak_schemes stays off. Config: contrib/dovecot/authd-dovecot24.conf.
--
-- lua_settings (all optional, strings):
--   socket        authd's UNIX socket (default /run/authd/authd.sock); Dovecot's HTTP client
--                 reaches it as an HTTP proxy socket, so the request line carries an absolute URL
--   url           instead of the socket: authd over TCP, e.g. http://127.0.0.1:8425 (then lookups
--                 need authd's bearer_token, below; the socket needs none)
--   bearer_token  authd's [http] bearer_token, when it is set and url is used
--   timeout       one answer's deadline (default 15s)
--
-- Results: 200 → OK (with the userdb fields authd stores); 401/403 → password mismatch;
-- 429, 503, no answer, anything else → INTERNAL_FAILURE, which Dovecot reports as a temporary
-- failure: a database hiccup is never a wrong password.
local json = require "json"

local cfg = {}
local client = nil

local function trim_slash(s)
  return (s:gsub("/+$", ""))
end

function script_init(settings)
  settings = settings or {}
  local http = {
    request_timeout = settings.timeout or "15s",
    connect_timeout = "2s",
    request_max_attempts = "1",
    max_connect_attempts = "1",
    user_agent = "authd-dovecot-lua",
  }
  if settings.url ~= nil and settings.url ~= "" then
    cfg.base = trim_slash(settings.url)
  else
    -- The UNIX socket: the host name in the URL is only a label.
    http.proxy_socket_path = settings.socket or "/run/authd/authd.sock"
    cfg.base = "http://authd"
  end
  cfg.token = settings.bearer_token
  client = dovecot.http.client(http)
  return 0
end

-- POST a JSON body to authd; returns the HTTP status (9000+ for a client error) and the decoded
-- answer (nil when the body is not JSON).
local function post(path, body)
  local request = client:request { url = cfg.base .. path, method = "POST" }
  request:add_header("Content-Type", "application/json")
  -- One connection per request: no idle keep-alive connection of an auth worker holds anything
  -- in authd between logins.
  request:add_header("Connection", "close")
  if cfg.token ~= nil and cfg.token ~= "" then
    request:add_header("Authorization", "Bearer " .. cfg.token)
  end
  request:set_payload(json.encode(body))
  local response = request:submit()
  local status = response:status()
  local ok, answer = pcall(json.decode, response:payload() or "")
  if not ok or type(answer) ~= "table" then
    answer = nil
  end
  return status, answer
end

-- The account's stored home/uid/gid as userdb fields, prefixed for a passdb answer (prefetch).
local function userdb_fields(answer, prefix)
  local fields = {}
  for _, key in ipairs { "home", "uid", "gid" } do
    local value = answer[key]
    if type(value) == "number" then
      value = math.tointeger(value)
    end
    if value ~= nil and (type(value) == "string" or math.type(value) == "integer") then
      fields[prefix .. key] = tostring(value)
    end
  end
  return fields
end

-- Passwords travel as password_base64, so any bytes (a latin-1 password of an old database)
-- arrive intact; a JSON string would have to be UTF-8.
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local function base64(data)
  local out = {}
  for i = 1, #data, 3 do
    local a, b, c = data:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local chunk = {}
    for j = 1, 4 do
      local idx = (n >> (6 * (4 - j))) & 63
      chunk[j] = B64:sub(idx + 1, idx + 1)
    end
    if c == nil then chunk[4] = "=" end
    if b == nil then chunk[3] = "=" end
    out[#out + 1] = table.concat(chunk)
  end
  return table.concat(out)
end

local function temporary(req, what, status)
  req:log_warning(string.format("authd %s: temporary failure (HTTP %d)", what, status))
  return dovecot.auth.PASSDB_RESULT_INTERNAL_FAILURE, "authd temporarily unavailable"
end

function auth_password_verify(req, password)
  local status, answer = post("/v1/auth", {
    username = req.user,
    password_base64 = base64(password),
    service = req.protocol,
    remote_ip = req.remote_ip,
  })
  if status == 200 and answer ~= nil and answer.ok == true and type(answer.user) == "string" then
    local fields = userdb_fields(answer, "userdb_")
    fields.user = answer.user -- authd's canonical name
    return dovecot.auth.PASSDB_RESULT_OK, fields
  elseif status == 401 and answer ~= nil and answer.error ~= nil then
    -- authd refused the request itself (bearer token missing or wrong): a configuration error,
    -- never the user's wrong password
    req:log_error("authd refused the request: " .. tostring(answer.error))
    return temporary(req, "login", status)
  elseif status == 401 then
    return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, "rejected by authd"
  elseif status == 403 then
    return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, "service not allowed by authd"
  elseif status == 400 then
    -- authd refused the input itself (a user name no account can have): not temporary.
    return dovecot.auth.PASSDB_RESULT_PASSWORD_MISMATCH, "refused by authd as malformed"
  end
  return temporary(req, "login", status)
end

-- /v1/lookup: does the account exist? (no password; grants do not apply: delivery and doveadm
-- must find every enabled account). Returns "found", "unknown" or "temp" and the answer.
local function lookup(req)
  local status, answer = post("/v1/lookup", { username = req.user })
  if status == 200 and answer ~= nil and answer.ok == true and type(answer.user) == "string" then
    return "found", answer
  elseif (status == 404 and answer ~= nil and answer.ok == false) or status == 400 then
    return "unknown", nil
  end
  return "temp", status
end

-- Passdb lookups without a password (doveadm auth lookup, LMTP's passdb lookup): the account's
-- existence only. "nopassword" hands Dovecot no credentials: a mechanism that needs them
-- (CRAM-MD5, …) gets "scheme not available", never "any password"; PLAIN/LOGIN always go through
-- auth_password_verify above.
function auth_passdb_lookup(req)
  local found, answer = lookup(req)
  if found == "found" then
    local fields = userdb_fields(answer, "userdb_")
    fields.user = answer.user
    fields.nopassword = "y"
    return dovecot.auth.PASSDB_RESULT_OK, fields
  elseif found == "unknown" then
    return dovecot.auth.PASSDB_RESULT_USER_UNKNOWN, "no such account in authd"
  end
  return temporary(req, "passdb lookup", answer)
end

-- Userdb lookups (after a login, and for LMTP/LDA delivery, the indexer, doveadm): home/uid/gid
-- from authd when it stores them; Dovecot's mail_uid, mail_gid and mail_home fill in the rest.
function auth_userdb_lookup(req)
  local found, answer = lookup(req)
  if found == "found" then
    local fields = userdb_fields(answer, "")
    fields.user = answer.user
    return dovecot.auth.USERDB_RESULT_OK, fields
  elseif found == "unknown" then
    return dovecot.auth.USERDB_RESULT_USER_UNKNOWN, "no such account in authd"
  end
  req:log_warning(string.format("authd userdb lookup: temporary failure (HTTP %d)", answer))
  return dovecot.auth.USERDB_RESULT_INTERNAL_FAILURE, "authd temporarily unavailable"
end
