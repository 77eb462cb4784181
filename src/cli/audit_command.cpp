// authctl audit [--format table|json|csv] [--all] [--fail-on-legacy]
// Streams every account once (bounded memory: rows are printed as they come, totals at the end);
// never prints hash material — only the scheme name and the status.
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "authd/cli/cli.hpp"
#include "authd/policy/hash_policy.hpp"
#include "authd/scheme/registry.hpp"
#include "commands.hpp"
#include "store_access.hpp"

namespace authd::cli {
namespace {

struct AuditOptions {
  std::string format = "table";
  bool all = false;
  bool fail_on_legacy = false;
};

struct Totals {
  long long total = 0;
  std::map<std::string, long long> by_scheme;
  std::map<std::string, long long> by_status = {{"current", 0}, {"weak", 0},    {"legacy", 0},
                                                {"wrapped", 0}, {"invalid", 0}, {"locked", 0}};
  bool enabled_legacy = false;
  long long with_app_passwords = 0;     // accounts with at least one active app password
  long long app_passwords_only = 0;     // accounts whose own password is kept off some services
};

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) {
    return s;
  }
  std::string out = "\"";
  for (char c : s) {
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  }
  return out + "\"";
}

std::string thousands(long long n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out.push_back(',');
    }
    out.push_back(digits[i]);
  }
  return out;
}

// One account's line: scheme and status of its stored value; a locked marker (*, !…) is its own
// status, "locked" (no password can log in; not a migration left to do).
struct Row {
  std::string scheme;
  std::string status;
  bool current = false;
  bool legacy = false; // legacy or wrapped
  std::string note;    // a stored name that is not canonical: it cannot log in
};

Row classify(const policy::HashPolicy& policy, const store::Account& a) {
  Row row{"locked", "locked", false, false, ""};
  if (!scheme::locked_marker(a.password_hash)) {
    const auto c = policy.classify(a.password_hash);
    row = {c.scheme, policy::to_string(c.status), c.status == policy::HashStatus::current,
           c.status == policy::HashStatus::legacy || c.status == policy::HashStatus::wrapped, ""};
  }
  if (const auto canon = store::normalize_username(a.username); !canon || *canon != a.username) {
    row.note = "name not canonical: it cannot log in (authctl user delete removes it)";
  }
  return row;
}

void print_row(const AuditOptions& o, const store::Account& a, const Row& c, bool first) {
  const std::string last = a.last_login_at ? iso_time(*a.last_login_at) : "";
  if (o.format == "json") {
    nlohmann::json row = {{"username", a.username}, {"scheme", c.scheme}, {"status", c.status},
                          {"enabled", a.enabled}, {"last_login_at", a.last_login_at ? nlohmann::json(last) : nlohmann::json(nullptr)},
                          {"password_changed_at", iso_time(a.password_changed_at)},
                          {"all_services", a.all_services}, {"services", a.services}};
    if (!c.note.empty()) {
      row["note"] = c.note;
    }
    std::cout << (first ? "\n    " : ",\n    ") << row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } else if (o.format == "csv") {
    std::cout << csv_field(a.username) << "," << c.scheme << "," << c.status << ","
              << (a.enabled ? "true" : "false") << "," << last << "," << iso_time(a.password_changed_at) << "\n";
  } else {
    std::cout << std::left << std::setw(28) << a.username << " " << std::setw(18) << c.scheme << " " << std::setw(8)
              << c.status << " " << std::setw(8) << (a.enabled ? "yes" : "no") << " "
              << (last.empty() ? "never" : last) << (c.note.empty() ? "" : "  (" + c.note + ")") << "\n";
  }
}

void print_totals(const AuditOptions& o, const Totals& t, bool printed) {
  const long long done = t.by_status.at("current");
  const long long pct = t.total == 0 ? 100 : (done * 100) / t.total;
  if (o.format == "json") {
    std::cout << (printed ? "\n  ],\n" : "],\n") << "  \"total\": " << t.total << ",\n"
              << "  \"by_scheme\": " << nlohmann::json(t.by_scheme).dump() << ",\n"
              << "  \"by_status\": " << nlohmann::json(t.by_status).dump() << ",\n"
              << "  \"app_passwords\": {\"accounts\": " << t.with_app_passwords
              << ", \"main_password_restricted\": " << t.app_passwords_only << "}\n}\n";
  } else if (o.format == "table") {
    std::cout << "\n" << thousands(t.total) << (t.total == 1 ? " account: " : " accounts: ") << thousands(done) << " current, "
              << thousands(t.by_status.at("weak")) << " weak, " << thousands(t.by_status.at("legacy")) << " legacy, "
              << thousands(t.by_status.at("wrapped")) << " wrapped";
    for (const char* other : {"invalid", "locked"}) {
      if (t.by_status.at(other) > 0) {
        std::cout << ", " << thousands(t.by_status.at(other)) << " " << other;
      }
    }
    std::cout << " — " << pct << " % migrated\nby scheme:";
    for (const auto& [scheme, n] : t.by_scheme) {
      std::cout << " " << scheme << "=" << thousands(n);
    }
    std::cout << "\napp passwords: " << thousands(t.with_app_passwords) << " account(s) use them, "
              << thousands(t.app_passwords_only) << " keep their own password off some services\n";
  }
}

int audit(Context& ctx, const AuditOptions& o) {
  auto store = open_store(ctx, Access::read);
  if (!store) {
    return k_exit_usage;
  }
  const policy::HashPolicy policy(ctx.config()->policy);
  Totals t;
  bool first = true;
  if (o.format == "json") {
    std::cout << "{\n  \"accounts\": [";
  } else if (o.format == "csv") {
    std::cout << "username,scheme,status,enabled,last_login_at,password_changed_at\n";
  } else {
    std::cout << std::left << std::setw(28) << "USERNAME" << " " << std::setw(18) << "SCHEME" << " " << std::setw(8)
              << "STATUS" << " " << std::setw(8) << "ENABLED" << " LAST LOGIN\n";
  }
  auto ok = store->for_each([&](const store::Account& a) {
    const Row c = classify(policy, a);
    ++t.total;
    ++t.by_scheme[c.scheme];
    ++t.by_status[c.status];
    t.enabled_legacy = t.enabled_legacy || (c.legacy && a.enabled);
    t.with_app_passwords += a.active_app_passwords > 0 ? 1 : 0;
    t.app_passwords_only += a.main_password_services ? 1 : 0;
    if (o.all || !c.current || !c.note.empty()) {
      print_row(o, a, c, first);
      first = false;
    }
    return true;
  });
  if (!ok) {
    std::cout.flush();
    return report(ok.error());
  }
  print_totals(o, t, !first);
  return o.fail_on_legacy && t.enabled_legacy ? k_exit_no : k_exit_ok;
}

} // namespace

void add_audit_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<AuditOptions>();
  CLI::App* cmd = app.add_subcommand("audit", "Report which accounts still hold legacy hashes");
  cmd->add_option("--format", o->format, "table (default), json or csv")->check(CLI::IsMember({"table", "json", "csv"}));
  cmd->add_flag("--all", o->all, "list every account, not only those that are not current");
  cmd->add_flag("--fail-on-legacy", o->fail_on_legacy, "exit 1 while an enabled account is legacy or wrapped");
  cmd->callback([&ctx, o] { ctx.action = [&ctx, o] { return audit(ctx, *o); }; });
}

} // namespace authd::cli
