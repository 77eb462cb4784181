#pragma once
// App passwords: secrets authd makes itself (never chosen by a person), 130 random bits from
// libsodium written as 26 characters of a 32-letter alphabet without look-alikes (no 0/o, 1/l),
// in groups of four for typing on a phone: "k7dq-m3xa-9fpe-w2hn-rt8c-bvj4-us".
//
// Because they are random and long they are stored as a fast hash (BLAKE2b-256), not bcrypt: a
// guess costs an attacker who stole the database one BLAKE2b, and there are 2^130 of them to try;
// there is no dictionary to try first. A password a person chose is a few dozen bits, found by a
// dictionary in a fast hash at once: that is why the account's own password stays bcrypt.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "authd/util/secret.hpp"

namespace authd::policy {

inline constexpr std::size_t k_app_password_chars = 26;

// A new app password (formatted with dashes), shown once.
SecretString generate_app_password();

// The verifier stored for an app password: hex BLAKE2b-256 of its normalised form (dashes and
// spaces dropped, letters lower-cased). nullopt when `password` cannot be an app password (wrong
// length or letters): a login then never looks one up.
std::optional<std::string> app_password_verifier(SecretView password);

// A label is shown in tables, logs and web pages: printable, one line, at most 200 bytes.
bool app_password_label_ok(std::string_view label);

// "2027-03-31" -> the end of that day (UTC), unix seconds: an app password expiring then is usable
// through the date given. nullopt for anything else, impossible dates (2027-02-30) included.
std::optional<std::int64_t> end_of_date(const std::string& text);

} // namespace authd::policy
