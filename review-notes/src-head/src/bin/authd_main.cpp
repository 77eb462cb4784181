#include "daemon/daemon.hpp"

int main(int argc, char** argv) { return authd::daemon::run(argc, argv); }
