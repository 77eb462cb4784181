#include "frontend/checkpassword/checkpassword.hpp"

int main(int argc, char** argv) { return authd::checkpassword::run(argc, argv); }
