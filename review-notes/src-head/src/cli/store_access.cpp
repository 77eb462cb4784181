#include "store_access.hpp"

#include <ctime>

namespace authd::cli {

std::unique_ptr<store::CredentialStore> open_store(Context& ctx, Access access) {
  const config::Config* cfg = ctx.config();
  if (cfg == nullptr) {
    return nullptr;
  }
  auto store = store::open_store(cfg->store.url, {cfg->store.timeout_ms, 1});
  if (!store) {
    report(store.error());
    return nullptr;
  }
  auto schema = access == Access::write ? (*store)->migrate() : (*store)->check_schema();
  if (!schema) {
    report(config::redact_url(cfg->store.url) + ": " + schema.error().message);
    return nullptr;
  }
  return std::move(*store);
}

std::string iso_time(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

} // namespace authd::cli
