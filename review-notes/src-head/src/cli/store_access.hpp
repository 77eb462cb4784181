#pragma once
// Opening the store for authctl: writers bring the schema up to date (idempotent), readers only
// check it (so audit works with a read-only database account).
#include <memory>

#include "authd/store/credential_store.hpp"
#include "context.hpp"

namespace authd::cli {

enum class Access { read, write };

// nullptr after printing the error.
std::unique_ptr<store::CredentialStore> open_store(Context& ctx, Access access);

// "2026-11-25T16:43:35Z"
std::string iso_time(std::int64_t unix_seconds);

} // namespace authd::cli
