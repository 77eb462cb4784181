#pragma once
namespace authd::daemon {
// authd's main: exit 0 after a clean stop, 1 on a start-up failure, 2 on a usage/config error.
int run(int argc, char** argv);
}
