// authctl wrap-legacy [--dry-run]: protect dormant legacy hashes now, without a login — each one
//   is replaced by a bcrypt hash over the legacy hash's own output (src/scheme/wrapped.cpp); the
//   next login verifies through the wrapper and rewrites a plain $2y$. {PLAIN} values are hashed
//   directly by the policy (bcrypt, or argon2id beyond bcrypt's 72 bytes: never truncated).
//   Writes are compare-and-swap: a login or admin change racing it always wins.
// authctl lock-legacy --not-logged-in-since YYYY-MM-DD [--dry-run]: disable accounts still
//   legacy or wrapped that have not logged in since DATE, so a password reset can finish the job.
#include <ctime>
#include <future>
#include <iostream>
#include <map>
#include <memory>

#include <CLI/CLI.hpp>

#include "authd/cli/cli.hpp"
#include "authd/policy/hash_policy.hpp"
#include "authd/scheme/create.hpp"
#include "authd/util/encoding.hpp"
#include "commands.hpp"
#include "store_access.hpp"

namespace authd::cli {
namespace {

struct RetireOptions {
  bool dry_run = false;
  std::string since;
};

struct Candidate {
  std::int64_t id;
  std::string username;
  std::string hash;
  std::string scheme;
};

// The replacement for one legacy value: a wrapper, or for {PLAIN} a real hash of the policy.
Result<std::string> replacement(const Candidate& c, const policy::HashPolicy& policy) {
  auto parsed = scheme::identify(c.hash, policy.config().identify);
  if (!parsed) {
    return tl::unexpected(parsed.error());
  }
  if (c.scheme != "plain") {
    return scheme::wrap_hash(*parsed, policy.config().bcrypt_cost);
  }
  std::optional<Bytes> raw;
  if (parsed->encoding != scheme::Encoding::none) {
    raw = parsed->encoding == scheme::Encoding::hex ? hex_decode(parsed->body) : base64_decode(parsed->body);
  }
  const SecretString pw(raw ? std::string_view(reinterpret_cast<const char*>(raw->data()), raw->size()) : parsed->body);
  if (raw) {
    wipe(raw->data(), raw->size());
  }
  return policy.hash(pw);
}

int wrap_legacy(Context& ctx, const RetireOptions& o) {
  auto store = open_store(ctx, Access::write);
  if (!store) {
    return k_exit_usage;
  }
  const policy::HashPolicy policy(ctx.config()->policy);
  std::map<std::string, long long> by_scheme;
  long long wrapped = 0, lost = 0, failed = 0, others = 0;
  std::vector<Candidate> batch;
  const auto flush = [&] { // bcrypt at policy cost is the cost here: one thread per core
    std::vector<std::future<Result<std::string>>> jobs;
    for (const Candidate& c : batch) {
      jobs.push_back(std::async(std::launch::async, [&c, &policy] { return replacement(c, policy); }));
      if (jobs.size() >= std::max(1U, std::thread::hardware_concurrency())) {
        jobs.front().wait();
      }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto fresh = jobs[i].get();
      const Candidate& c = batch[i];
      if (!fresh) {
        std::cerr << "authctl: " << c.username << ": " << fresh.error().message << "\n";
        ++failed;
        continue;
      }
      const std::string to = c.scheme == "plain" ? policy.classify(*fresh).scheme : "wrap_" + c.scheme;
      auto won = store->swap_hash(c.id, c.hash, *fresh, {0, c.username, "wrap", "authctl", c.scheme, to, ""});
      ++(!won ? failed : *won ? wrapped : lost);
    }
    batch.clear();
  };
  auto ok = store->for_each([&](const store::Account& a) {
    const auto c = policy.classify(a.password_hash);
    if (c.status != policy::HashStatus::legacy) {
      ++others;
      return true;
    }
    ++by_scheme[c.scheme];
    if (!o.dry_run) {
      batch.push_back({a.id, a.username, a.password_hash, c.scheme});
      if (batch.size() >= 64) {
        flush();
      }
    }
    return true;
  });
  if (ok && !o.dry_run) {
    flush();
  }
  if (!ok) {
    return report(ok.error());
  }
  long long legacy = 0;
  std::cout << (o.dry_run ? "dry run: would wrap" : "legacy hashes found:");
  for (const auto& [scheme, n] : by_scheme) {
    std::cout << " " << scheme << "=" << n;
    legacy += n;
  }
  std::cout << (legacy == 0 ? " none" : "") << "\n";
  if (!o.dry_run) {
    std::cout << "wrapped " << wrapped << ", changed meanwhile (left alone) " << lost << ", failed " << failed
              << ", not legacy " << others << "\n";
  }
  return failed > 0 ? k_exit_no : k_exit_ok;
}

std::optional<std::int64_t> parse_date(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%d", &tm);
  if (end == nullptr || *end != '\0') {
    return std::nullopt;
  }
  return static_cast<std::int64_t>(timegm(&tm));
}

int lock_legacy(Context& ctx, const RetireOptions& o) {
  const auto since = parse_date(o.since);
  if (!since) {
    return report("--not-logged-in-since takes a date YYYY-MM-DD");
  }
  auto store = open_store(ctx, Access::write);
  if (!store) {
    return k_exit_usage;
  }
  const policy::HashPolicy policy(ctx.config()->policy);
  std::vector<std::string> names;
  auto ok = store->for_each([&](const store::Account& a) {
    const auto s = policy.classify(a.password_hash).status;
    const bool old = s == policy::HashStatus::legacy || s == policy::HashStatus::wrapped;
    if (a.enabled && old && (!a.last_login_at || *a.last_login_at < *since)) {
      names.push_back(a.username);
    }
    return true;
  });
  if (!ok) {
    return report(ok.error());
  }
  long long locked = 0;
  for (const std::string& name : names) {
    std::cout << (o.dry_run ? "would lock " : "locked ") << name << "\n";
    if (!o.dry_run) {
      auto done = store->set_enabled(name, false, {0, "", "lock", "authctl", "", "", "legacy, no login since " + o.since});
      if (!done) {
        return report(done.error());
      }
      ++locked;
    }
  }
  std::cout << (o.dry_run ? "dry run: " + std::to_string(names.size()) + " accounts would be locked"
                          : std::to_string(locked) + " accounts locked") << "\n";
  return k_exit_ok;
}

} // namespace

void add_retire_commands(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<RetireOptions>();
  CLI::App* wrap = app.add_subcommand("wrap-legacy", "Wrap every legacy hash in bcrypt now, without waiting for logins");
  wrap->add_flag("--dry-run", o->dry_run, "count what would be wrapped, change nothing");
  wrap->callback([&ctx, o] { ctx.action = [&ctx, o] { return wrap_legacy(ctx, *o); }; });
  CLI::App* lock = app.add_subcommand("lock-legacy", "Disable legacy/wrapped accounts without a recent login");
  lock->add_option("--not-logged-in-since", o->since, "YYYY-MM-DD")->required();
  lock->add_flag("--dry-run", o->dry_run, "list what would be locked, change nothing");
  lock->callback([&ctx, o] { ctx.action = [&ctx, o] { return lock_legacy(ctx, *o); }; });
}

} // namespace authd::cli
