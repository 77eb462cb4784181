// authctl import --format htpasswd|passwd-file|csv FILE   |   authctl import --sql "SELECT …" --from URL
// Every line is imported, skipped (user exists; --update replaces its hash) or rejected with its
// line number and reason. All accepted records go in one transaction: a store failure midway
// rolls everything back. Exit 0 all lines taken, 1 some lines rejected, 2 usage/file/store error.
#include <fstream>
#include <iostream>
#include <memory>
#include <unordered_map>

#include <sys/stat.h>

#include <CLI/CLI.hpp>

#include "authd/cli/cli.hpp"
#include "authd/policy/hash_policy.hpp"
#include "commands.hpp"
#include "import_parsers.hpp"
#include "store_access.hpp"

namespace authd::cli {
namespace {

struct ImportOptions {
  std::string format;
  std::string file;
  std::string sql;
  std::string from;
  bool update = false;
  bool dry_run = false;
};

struct Counts {
  long long imported = 0, updated = 0, skipped = 0, rejected = 0;
};

int rank(policy::HashStatus s) {
  switch (s) {
  case policy::HashStatus::current: return 4;
  case policy::HashStatus::weak: return 3;
  case policy::HashStatus::wrapped: return 2;
  case policy::HashStatus::legacy: return 1;
  case policy::HashStatus::invalid: return 0;
  }
  return 0;
}

// Validates one parsed line into a record; false (with the reason printed) when rejected. A name
// met before (in its canonical form) is an error on its second line: which hash was meant?
bool accept(const ImportLine& l, long long lineno, const policy::HashPolicy& policy, store::ImportRecord& rec,
            std::unordered_map<std::string, long long>& seen) {
  std::string why = l.error;
  const auto name = store::normalize_username(l.username);
  const auto new_name = name ? store::check_new_username(*name) : Status{};
  const auto c = policy.classify(l.hash);
  if (why.empty() && !name) {
    why = name.error().message;
  } else if (why.empty() && !new_name) {
    why = new_name.error().message;
  } else if (why.empty() && c.status == policy::HashStatus::invalid) {
    why = "unrecognised hash (" + c.error + ")";
  } else if (why.empty()) {
    const auto [at, first] = seen.try_emplace(*name, lineno);
    if (!first) {
      why = "'" + *name + "' again (first on line " + std::to_string(at->second) + "; that line is kept)";
    }
  }
  if (!why.empty()) {
    std::cerr << "line " << lineno << ": rejected: " << why << "\n";
    return false;
  }
  rec.account = store::NewAccount{*name, l.hash, true, l.home, l.uid, l.gid, {}};
  rec.scheme = c.scheme;
  return true;
}

// The next acceptable record from the source; rejected lines are reported and counted.
using Source = std::function<bool(ImportLine&, long long&)>;

constexpr std::size_t k_max_line = 64 * 1024;

// One line of at most k_max_line bytes (the rest of a longer one is read and dropped: memory stays
// bounded whatever the file holds); false at the end of the input.
bool bounded_getline(std::istream& in, std::string& line, bool& too_long) {
  line.clear();
  too_long = false;
  std::streambuf* buf = in.rdbuf();
  bool any = false;
  for (int c = buf->sbumpc(); c != std::char_traits<char>::eof(); c = buf->sbumpc()) {
    any = true;
    if (c == '\n') {
      return true;
    }
    if (line.size() < k_max_line) {
      line.push_back(static_cast<char>(c));
    } else {
      too_long = true;
    }
  }
  return any;
}

Source file_source(std::istream& in, ImportFormat format) {
  return [&in, format, lineno = 0LL](ImportLine& out, long long& at) mutable {
    std::string line;
    for (bool too_long = false; bounded_getline(in, line, too_long);) {
      if (++lineno == 1 && line.starts_with("\xEF\xBB\xBF")) {
        line.erase(0, 3); // a UTF-8 byte-order mark (files saved by some editors)
      }
      if (too_long) {
        out = ImportLine{};
        out.error = "line longer than 64 KiB";
        at = lineno;
        return true;
      }
      if (parse_import_line(format, line, out)) {
        at = lineno;
        return true;
      }
    }
    return false;
  };
}

int run_import(Context& ctx, const ImportOptions& o, const Source& source) {
  auto store = open_store(ctx, o.dry_run ? Access::read : Access::write); // a dry run writes nothing, not even a schema
  if (!store) {
    return k_exit_usage;
  }
  const policy::HashPolicy policy(ctx.config()->policy);
  Counts n;
  std::unordered_map<std::string, long long> seen; // canonical name -> its line
  auto next = [&](store::ImportRecord& rec) {
    ImportLine line;
    long long at = 0;
    while (source(line, at)) {
      if (accept(line, at, policy, rec, seen)) {
        return true;
      }
      ++n.rejected;
    }
    return false;
  };
  Status ok;
  if (o.dry_run) {
    store::ImportRecord rec;
    while (ok && next(rec)) {
      auto found = store->find(rec.account.username);
      ok = found ? Status{} : Status(tl::unexpected(found.error()));
      ++(found && *found ? (o.update ? n.updated : n.skipped) : n.imported);
    }
  } else {
    ok = store->import(next, o.update, "import", [&](const store::ImportRecord&, store::ImportOutcome outcome) {
      ++(outcome == store::ImportOutcome::imported ? n.imported : outcome == store::ImportOutcome::updated ? n.updated : n.skipped);
    });
  }
  if (!ok) {
    return report(ok.error().message + " — nothing was imported");
  }
  std::cout << (o.dry_run ? "dry run: would import " : "imported ") << n.imported << ", updated " << n.updated
            << ", skipped " << n.skipped << " (exist" << (o.update ? "" : "; --update replaces their hash")
            << "), rejected " << n.rejected << "\n";
  return n.rejected > 0 ? k_exit_no : k_exit_ok;
}

int import_file(Context& ctx, const ImportOptions& o) {
  const ImportFormat format = o.format == "htpasswd" ? ImportFormat::htpasswd
                              : o.format == "csv"    ? ImportFormat::csv
                                                     : ImportFormat::passwd_file;
  std::ifstream file;
  if (o.file != "-") {
    struct stat st {};
    if (::stat(o.file.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return report(o.file + " is a directory, not a file to import");
    }
    file.open(o.file);
    if (!file) {
      return report("cannot read " + o.file);
    }
  }
  std::istream& in = o.file == "-" ? std::cin : file;
  bool read_failed = false;
  const Source lines = file_source(in, format);
  const int code = run_import(ctx, o, [&](ImportLine& out, long long& at) {
    const bool more = lines(out, at);
    read_failed = read_failed || in.bad();
    return more && !read_failed;
  });
  if (read_failed) { // a disk error mid-file (rare: a directory or an unreadable file fails above)
    return report("reading " + o.file + " failed: the import stopped there; the lines before it were taken");
  }
  return code;
}

// --sql: first column the user name, every further column a candidate hash; the strongest
// recognised one wins (a legacy table holding an MD5 and a bcrypt column keeps the bcrypt).
int import_sql(Context& ctx, const ImportOptions& o) {
  const config::Config* cfg = ctx.config();
  if (cfg == nullptr) {
    return k_exit_usage;
  }
  const policy::HashPolicy policy(cfg->policy);
  std::vector<ImportLine> rows;
  long long rowno = 0;
  auto read = store::read_rows(o.from, o.sql, cfg->store.timeout_ms, [&](const std::vector<std::optional<std::string>>& r) {
    ImportLine line;
    ++rowno;
    line.username = r.empty() || !r[0] ? "" : *r[0];
    int best = 0;
    for (std::size_t i = 1; i < r.size(); ++i) {
      const int rk = r[i] && !r[i]->empty() ? rank(policy.classify(*r[i]).status) : 0;
      if (rk > best) {
        best = rk;
        line.hash = *r[i];
      }
    }
    if (r.size() < 2) {
      line.error = "the query must return the name and at least one hash column";
    } else if (best == 0) {
      line.error = "no recognised hash in this row";
    }
    rows.push_back(std::move(line));
  });
  if (!read) {
    return report(config::redact_url(o.from) + ": " + read.error().message);
  }
  std::size_t i = 0;
  return run_import(ctx, o, [&](ImportLine& out, long long& at) {
    if (i >= rows.size()) {
      return false;
    }
    at = static_cast<long long>(i) + 1;
    out = std::move(rows[i++]);
    return true;
  });
}

} // namespace

void add_import_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ImportOptions>();
  CLI::App* cmd = app.add_subcommand("import", "Import accounts from htpasswd, passwd-file, CSV or a legacy database");
  cmd->add_option("--format", o->format, "htpasswd, passwd-file or csv")->check(CLI::IsMember({"htpasswd", "passwd-file", "csv"}));
  cmd->add_option("FILE", o->file, "the file to import (- for stdin)");
  cmd->add_option("--sql", o->sql, "SELECT returning name, hash[, hash…] from the --from database");
  cmd->add_option("--from", o->from, "legacy database URL (mariadb://… or sqlite://…)");
  cmd->add_flag("--update", o->update, "replace the hash of users that exist already");
  cmd->add_flag("--dry-run", o->dry_run, "report what would happen, change nothing");
  cmd->callback([&ctx, o] {
    ctx.action = [&ctx, o] {
      if (!o->sql.empty() && !o->from.empty() && o->format.empty() && o->file.empty()) {
        return import_sql(ctx, *o);
      }
      if (!o->format.empty() && !o->file.empty() && o->sql.empty()) {
        return import_file(ctx, *o);
      }
      return report("use: import --format htpasswd|passwd-file|csv FILE  |  import --sql \"SELECT …\" --from URL");
    };
  });
}

} // namespace authd::cli
