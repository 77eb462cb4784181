// authd-checkpassword: Dovecot 2.3's checkpassword protocol (PROTOCOLS.md §1) and
// mod_authnz_external's pipe method (§3.1), as a thin client of authd's UNIX socket. It holds no
// database credentials and links no HTTP or JSON library (start-up cost is paid per login).
//   checkpassword mode: request "user\0password\0..." on fd 3 (at most 512 bytes); on success it
//     sets USER, HOME, userdb_uid/userdb_gid + EXTRA (stored values, else --default-uid/-gid/-home)
//     and execs the reply program (argv[1..]);
//     AUTHORIZED=1 is a lookup: AUTHORIZED=2 and exec on a known user, exit 3 on an unknown one.
//     Exit 1 wrong password, 2 misuse (malformed input, nothing sent), 111 temporary failure.
//   --pipe: "user\npassword\n" on stdin; exit 0 grant, 1 deny, 111 authd unreachable, 2 misuse.
#include "checkpassword.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "authd/util/encoding.hpp"
#include "authd/util/read_secret.hpp"
#include "authd/util/secret.hpp"
#include "unix_http.hpp"

namespace authd::checkpassword {
Result<Request> parse_fd3(SecretView input) {
  if (input.size() > k_max_request) {
    return fail(ErrorKind::invalid_input, "request on fd 3 is longer than 512 bytes");
  }
  const std::string_view all = input.reveal();
  const std::size_t end_user = all.find('\0');
  const std::size_t end_pass = end_user == std::string_view::npos ? end_user : all.find('\0', end_user + 1);
  if (end_pass == std::string_view::npos) {
    return fail(ErrorKind::invalid_input, "malformed request on fd 3 (need user\\0password\\0)");
  }
  if (end_user == 0) {
    return fail(ErrorKind::invalid_input, "empty user name on fd 3");
  }
  return Request{std::string(all.substr(0, end_user)), SecretString(all.substr(end_user + 1, end_pass - end_user - 1))};
}

Result<Request> parse_pipe(SecretView input) {
  std::string_view all = input.reveal();
  const std::size_t nl = all.find('\n');
  if (nl == std::string_view::npos || nl == 0) {
    return fail(ErrorKind::invalid_input, "malformed input on stdin (need user\\npassword\\n)");
  }
  std::string_view pw = all.substr(nl + 1);
  if (pw.ends_with('\n')) {
    pw.remove_suffix(1);
  }
  if (pw.find('\n') != std::string_view::npos || all.find('\0') != std::string_view::npos) {
    return fail(ErrorKind::invalid_input, "malformed input on stdin (extra lines or NUL)");
  }
  return Request{std::string(all.substr(0, nl)), SecretString(pw)};
}

namespace {

constexpr int k_ok = 0;
constexpr int k_rejected = 1;
constexpr int k_misuse = 2;
constexpr int k_unknown_user = 3;
constexpr int k_tempfail = 111;

constexpr const char* k_help =
    "authd-checkpassword: Dovecot 2.3's checkpassword passdb/userdb and Apache's mod_authnz_external\n"
    "(pipe) client of authd's UNIX socket. Exit: 0 ok (checkpassword: the reply program's), 1 wrong\n"
    "password or unknown user, 2 misuse, 3 user unknown (userdb), 111 authd or its store unreachable.\n"
    "Usage: authd-checkpassword [OPTIONS] PROGRAM [ARGS...]\n"
    "       authd-checkpassword --pipe [OPTIONS]\n"
    "\n"
    "Options:\n"
    "  -h,--help                   Print this help message and exit\n"
    "  --socket PATH               authd's UNIX socket (default $AUTHD_SOCKET or /run/authd/authd.sock)\n"
    "  --pipe                      mod_authnz_external's pipe method: user and password on stdin\n"
    "  --service S                 the service to ask for (default: Dovecot's SERVICE; pipe: none)\n"
    "  --timeout SECONDS           give up on authd after this long (default 15)\n"
    "  --default-uid U             userdb: uid for accounts without one (name or number)\n"
    "  --default-gid G             userdb: gid for accounts without one\n"
    "  --default-home TEMPLATE     userdb: home for accounts without one (%u user, %n local part, %d domain)\n";

struct Options {
  bool help = false;
  bool pipe = false;
  std::string socket;
  std::string service;
  int timeout_ms = 15000;
  // userdb defaults for accounts without a stored uid/gid/home (--default-uid/-gid/-home): without
  // them checkpassword-reply would fill in the helper's own uid (the "dovecot" user).
  std::string default_uid, default_gid, default_home;
  std::vector<char*> program; // reply program and its arguments
};

int misuse(const std::string& why) {
  std::cerr << "authd-checkpassword: " << why << "\n";
  return k_misuse;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// Service names reach authd as [a-z0-9_.-]; anything else from the environment is dropped.
std::string clean_service(const std::string& raw) {
  const std::string s = ascii_lower(raw);
  return s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.-") == std::string::npos && s.size() <= 64 ? s : "";
}

// Well-formed UTF-8 (no overlongs, no surrogates). A user name that is not cannot exist in authd,
// and could not travel in JSON: it is answered "no such user" without a request.
bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (n == 0 || i + n > s.size()) {
      return false;
    }
    unsigned cp = n == 1 ? c : c & (0x7fU >> n);
    for (std::size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3fU);
    }
    const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n;
  }
  return true;
}

std::string clean_ip(const std::string& ip) {
  return ip.size() <= 64 && ip.find_first_not_of("0123456789abcdefABCDEF.:") == std::string::npos ? ip : "";
}

// --default-uid/--default-gid: a number or a system user/group name (Dovecot resolves names);
// --default-home: an absolute path template with %u (user), %n (local part), %d (domain), %%.
bool default_option(const std::string& arg, const std::string& v, Options& o, std::string& error) {
  const bool id_ok = !v.empty() && v.size() <= 64 &&
                     v.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == std::string::npos;
  if (arg == "--default-uid" || arg == "--default-gid") {
    if (!id_ok) {
      error = arg + " takes a number or a user/group name";
      return false;
    }
    (arg == "--default-uid" ? o.default_uid : o.default_gid) = v;
    return true;
  }
  if (arg == "--default-home") {
    if (!v.starts_with('/') || v.find_first_of("\t\n") != std::string::npos) {
      error = "--default-home takes an absolute path (with %u, %n, %d)";
      return false;
    }
    o.default_home = v;
    return true;
  }
  error = "unknown option " + arg;
  return false;
}

// The home template for one user; empty when the name cannot be a path component (a '/', "."
// or "..": an account must never be handed someone else's directory).
std::string expand_home(const std::string& tmpl, const std::string& user) {
  const std::size_t at = user.rfind('@');
  const std::string local = at == std::string::npos ? user : user.substr(0, at);
  const std::string domain = at == std::string::npos ? "" : user.substr(at + 1);
  for (const std::string& part : {local, domain}) {
    if (part.find('/') != std::string::npos || part == "." || part == "..") {
      return "";
    }
  }
  std::string out;
  for (std::size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '%' || i + 1 == tmpl.size()) {
      out.push_back(tmpl[i]);
      continue;
    }
    const char k = tmpl[++i];
    out += k == 'u' ? user : k == 'n' ? local : k == 'd' ? domain : std::string(1, k);
  }
  return out;
}

bool parse_args(int argc, char** argv, Options& o, std::string& error) {
  o.socket = env("AUTHD_SOCKET").empty() ? "/run/authd/authd.sock" : env("AUTHD_SOCKET");
  int i = 1;
  for (; i < argc && (std::strncmp(argv[i], "--", 2) == 0 || std::strcmp(argv[i], "-h") == 0); ++i) {
    const std::string arg = std::strcmp(argv[i], "-h") == 0 ? "--help" : argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--help") {
      o.help = true;
      return true;
    } else if (arg == "--pipe") {
      o.pipe = true;
    } else if (arg.starts_with("--default-") && has_value) {
      if (!default_option(arg, argv[++i], o, error)) {
        return false;
      }
    } else if ((arg == "--socket" || arg == "--service" || arg == "--timeout") && has_value) {
      const std::string v = argv[++i];
      if (arg == "--socket") {
        o.socket = v;
      } else if (arg == "--service") {
        o.service = clean_service(v);
        if (o.service.empty()) {
          error = "--service takes [a-z0-9_.-]";
          return false;
        }
      } else {
        o.timeout_ms = std::atoi(v.c_str()) * 1000;
        if (o.timeout_ms <= 0) {
          error = "--timeout takes seconds > 0";
          return false;
        }
      }
    } else if (arg == "--") {
      ++i;
      break;
    } else {
      error = "unknown option " + arg;
      return false;
    }
  }
  for (; i < argc; ++i) {
    o.program.push_back(argv[i]);
  }
  o.program.push_back(nullptr);
  if (!o.pipe && o.program.size() < 2) {
    error = "usage: authd-checkpassword [--socket PATH] [--timeout S] [--default-uid U --default-gid G "
            "--default-home TEMPLATE] PROGRAM [ARGS...]  |  --pipe [--socket PATH] [--service S]  (--help)";
    return false;
  }
  return true;
}

// Reads fd 3 to EOF: "user\0password\0timestamp\0...". Misuse on anything else.
Result<Request> read_fd3() {
  if (::fcntl(3, F_GETFD) == -1) {
    return fail(ErrorKind::invalid_input, "fd 3 is not open (run me from Dovecot's checkpassword passdb)");
  }
  auto raw = read_secret(3, k_max_request);
  if (!raw) {
    return fail(ErrorKind::invalid_input, raw.error().kind == ErrorKind::invalid_input
                                              ? "request on fd 3 is longer than 512 bytes"
                                              : "cannot read fd 3: " + raw.error().message);
  }
  return parse_fd3(raw->view());
}

// Reads stdin: "user\npassword\n" (the last newline optional).
Result<Request> read_pipe() {
  auto raw = read_secret(0, 2048);
  if (!raw) {
    return fail(ErrorKind::invalid_input, raw.error().kind == ErrorKind::invalid_input
                                              ? "input longer than 2048 bytes"
                                              : "cannot read stdin: " + raw.error().message);
  }
  return parse_pipe(raw->view());
}

// The request body; the password travels base64-encoded so any byte sequence (latin-1 from an
// old database included) reaches authd intact.
std::string auth_body(const std::string& user, const SecretString& pw, const std::string& service, const std::string& ip) {
  std::string b64 = base64_encode(reinterpret_cast<const unsigned char*>(pw.data()), pw.size());
  std::string body = "{\"username\":" + json_string(user) + ",\"password_base64\":\"" + b64 + "\"";
  wipe(b64.data(), b64.size());
  if (!service.empty()) {
    body += ",\"service\":\"" + service + "\"";
  }
  if (!ip.empty()) {
    body += ",\"remote_ip\":\"" + ip + "\"";
  }
  return body + "}";
}

int run_pipe(const Options& o) {
  auto req = read_pipe();
  if (!req) {
    return misuse(req.error().message);
  }
  if (!valid_utf8(req->user)) {
    return k_rejected;
  }
  const std::string service = o.service.empty() ? (clean_service(env("CONTEXT")).empty() ? "http" : clean_service(env("CONTEXT"))) : o.service;
  std::string body = auth_body(req->user, req->password, service, clean_ip(env("IP")));
  auto reply = post_json(o.socket, "/v1/auth", body, o.timeout_ms);
  wipe(body.data(), body.size());
  if (!reply) {
    std::cerr << "authd-checkpassword: " << reply.error().message << "\n";
    return k_tempfail;
  }
  if (reply->status == 200) {
    return k_ok;
  }
  return reply->status == 401 || reply->status == 403 ? k_rejected : k_tempfail;
}

// Success: the environment checkpassword-reply turns into Dovecot's reply, then exec it.
int exec_reply(const Options& o, const std::string& reply_body, bool lookup) {
  const std::string user = json_field(reply_body, "user");
  const auto stored = [&](const char* key, const std::string& fallback) {
    const std::string v = json_field(reply_body, key);
    return v.empty() || v == "null" ? fallback : v;
  };
  const std::string uid = stored("uid", o.default_uid);
  const std::string gid = stored("gid", o.default_gid);
  if (user.empty() || user.find('\t') != std::string::npos) {
    std::cerr << "authd-checkpassword: authd answered without a usable user name\n";
    return k_tempfail;
  }
  const std::string home = stored("home", o.default_home.empty() ? "" : expand_home(o.default_home, user));
  if (home.empty() && !o.default_home.empty()) {
    std::cerr << "authd-checkpassword: user name cannot be a home directory under --default-home\n";
    return k_tempfail;
  }
  ::setenv("USER", user.c_str(), 1);
  home.empty() ? ::unsetenv("HOME") : ::setenv("HOME", home.c_str(), 1); // never an inherited HOME
  std::string extra;
  if (!uid.empty()) {
    ::setenv("userdb_uid", uid.c_str(), 1);
    extra += "userdb_uid";
  }
  if (!gid.empty()) {
    ::setenv("userdb_gid", gid.c_str(), 1);
    extra += extra.empty() ? "userdb_gid" : " userdb_gid";
  }
  extra.empty() ? ::unsetenv("EXTRA") : ::setenv("EXTRA", extra.c_str(), 1);
  if (lookup) {
    ::setenv("AUTHORIZED", "2", 1);
  }
  ::execv(o.program[0], o.program.data());
  std::cerr << "authd-checkpassword: cannot exec " << o.program[0] << ": " << std::strerror(errno) << "\n";
  return k_tempfail;
}

int run_checkpassword(const Options& o) {
  auto req = read_fd3();
  if (!req) {
    return misuse(req.error().message);
  }
  // AUTHORIZED=1: a passdb or userdb lookup. With CREDENTIALS_LOOKUP=1 Dovecot would also like
  // the password in a scheme it can use; authd never returns hashes, so the answer carries only
  // the user (non-plaintext mechanisms such as CRAM-MD5 cannot work: use plain/login).
  const bool lookup = env("AUTHORIZED") == "1";
  if (!valid_utf8(req->user)) {
    return lookup ? k_unknown_user : k_rejected;
  }
  const std::string service = o.service.empty() ? clean_service(env("SERVICE")) : o.service;
  const std::string ip = clean_ip(env("TCPREMOTEIP").empty() ? env("REMOTE_IP") : env("TCPREMOTEIP"));
  std::string body = lookup ? "{\"username\":" + json_string(req->user) + (service.empty() ? "" : ",\"service\":\"" + service + "\"") + "}"
                            : auth_body(req->user, req->password, service, ip);
  req->password.clear();
  auto reply = post_json(o.socket, lookup ? "/v1/lookup" : "/v1/auth", body, o.timeout_ms);
  wipe(body.data(), body.size());
  if (!reply) {
    std::cerr << "authd-checkpassword: " << reply.error().message << "\n";
    return k_tempfail;
  }
  switch (reply->status) {
  case 200: return exec_reply(o, reply->body, lookup);
  case 401:
  case 403: return lookup ? k_unknown_user : k_rejected;
  case 404: return lookup ? k_unknown_user : k_tempfail;
  default:
    std::cerr << "authd-checkpassword: authd answered HTTP " << reply->status << " (temporary failure)\n";
    return k_tempfail;
  }
}

} // namespace

int run(int argc, char** argv) {
  Options o;
  std::string error;
  if (!parse_args(argc, argv, o, error)) {
    return misuse(error);
  }
  if (o.help) {
    std::cout << k_help;
    return 0;
  }
  return o.pipe ? run_pipe(o) : run_checkpassword(o);
}

} // namespace authd::checkpassword
