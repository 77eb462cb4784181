// authctl hash identify | verify | new (CONTRACT.md).
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "authd/cli/cli.hpp"
#include "authd/policy/hash_policy.hpp"
#include "commands.hpp"

namespace authd::cli {
namespace {

struct HashOptions {
  std::string hash;
  std::string scheme;
  int cost = 0;
  std::uint32_t memory_kib = 0;
};

int identify(Context& ctx, const HashOptions& opt) {
  const config::Config* cfg = ctx.config();
  if (cfg == nullptr) {
    return k_exit_usage;
  }
  const policy::HashPolicy policy(cfg->policy);
  const policy::Classification c = policy.classify(opt.hash);
  std::cout << c.scheme << " " << policy::to_string(c.status) << "\n";
  if (c.status == policy::HashStatus::invalid) {
    std::cerr << "authctl: " << c.error << "\n";
    return k_exit_usage;
  }
  return k_exit_ok;
}

int verify(Context& ctx, const HashOptions& opt) {
  const config::Config* cfg = ctx.config();
  if (cfg == nullptr) {
    return k_exit_usage;
  }
  auto password = read_password();
  if (!password) {
    return report(password.error());
  }
  const policy::HashPolicy policy(cfg->policy);
  auto outcome = policy.verify_and_update(*password, opt.hash);
  if (!outcome) {
    return report(outcome.error());
  }
  return outcome->matched ? k_exit_ok : k_exit_no;
}

int create(Context& ctx, const HashOptions& opt) {
  const config::Config* cfg = ctx.config();
  if (cfg == nullptr) {
    return k_exit_usage;
  }
  policy::PolicyConfig pc = cfg->policy;
  if (!opt.scheme.empty()) {
    pc.target = opt.scheme == "argon2id" ? policy::Target::argon2id : policy::Target::bcrypt;
  }
  if (opt.cost != 0 && pc.target == policy::Target::bcrypt) {
    pc.bcrypt_cost = opt.cost;
  } else if (opt.cost != 0) {
    pc.argon2.ops = static_cast<std::uint32_t>(opt.cost);
  }
  if (opt.memory_kib != 0) {
    pc.argon2.mem_kib = opt.memory_kib;
  }
  auto password = read_password();
  if (!password) {
    return report(password.error());
  }
  if (password->empty()) {
    return report("refusing to hash an empty password");
  }
  if (pc.target == policy::Target::bcrypt && password->size() > scheme::k_bcrypt_max_password) {
    return report("bcrypt uses only the first 72 bytes of a password; use --scheme argon2id for longer ones");
  }
  auto hash = policy::HashPolicy(pc).hash(*password);
  if (!hash) {
    return report(hash.error());
  }
  std::cout << *hash << "\n";
  return k_exit_ok;
}

} // namespace

void add_hash_commands(CLI::App& app, Context& ctx) {
  auto opt = std::make_shared<HashOptions>();
  CLI::App* hash = app.add_subcommand("hash", "Identify, verify and create password hashes");
  hash->require_subcommand(1);

  CLI::App* id = hash->add_subcommand("identify", "Print 'SCHEME STATUS' of a stored hash");
  id->add_option("HASH", opt->hash, "the stored hash")->required();
  id->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return identify(ctx, *opt); }; });

  CLI::App* ver = hash->add_subcommand("verify", "Check the password on stdin against HASH (exit 0 match, 1 mismatch, 2 malformed)");
  ver->add_option("HASH", opt->hash, "the stored hash")->required();
  ver->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return verify(ctx, *opt); }; });

  CLI::App* make = hash->add_subcommand("new", "Hash the password on stdin with the policy's target scheme");
  make->add_option("--scheme", opt->scheme, "bcrypt or argon2id (default: policy target)")
      ->check(CLI::IsMember({"bcrypt", "argon2id"}));
  make->add_option("--cost", opt->cost, "bcrypt cost 4..31, or argon2id iterations")->check(CLI::Range(1, 31));
  make->add_option("--memory", opt->memory_kib, "argon2id memory in KiB")->check(CLI::Range(8, 1048576));
  make->callback([&ctx, opt] { ctx.action = [&ctx, opt] { return create(ctx, *opt); }; });
}

} // namespace authd::cli
