#pragma once
// authctl: the operator's command line. Exit codes (CONTRACT.md): 0 success, 1 a negative
// answer, 2 usage or input error (message on stderr).
namespace authd::cli {

inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_no = 1;
inline constexpr int k_exit_usage = 2;

int run(int argc, char** argv);

} // namespace authd::cli
