#include "authd/cli/cli.hpp"

int main(int argc, char** argv) { return authd::cli::run(argc, argv); }
