#pragma once
// Runs a program as a child process with given stdin bytes and environment additions; captures
// stdout, stderr and the exit status. For driving authctl / authd-checkpassword like a user.
#include <string>
#include <vector>

namespace authd::test {

struct ProcessResult {
  int exit_code = -1; // 128 + signal when killed by a signal
  std::string out;
  std::string err;
};

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = "",
                          const std::vector<std::string>& env = {}, int timeout_seconds = 60);

// Directory of the built executables (BUILD/bin), from the AUTHD_BIN_DIR compile definition.
std::string bin(const std::string& name);

} // namespace authd::test
