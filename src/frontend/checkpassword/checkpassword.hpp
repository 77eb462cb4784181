#pragma once
namespace authd::checkpassword {
// authd-checkpassword's main (exit codes: see checkpassword.cpp).
int run(int argc, char** argv);
}
