# INTERFACE targets linked PRIVATE by every authd target: language settings and warnings.
add_library(authd_settings INTERFACE)
target_compile_features(authd_settings INTERFACE cxx_std_20)
target_compile_definitions(authd_settings INTERFACE _GNU_SOURCE)
if(AUTHD_SANITIZE)
  target_compile_options(authd_settings INTERFACE -fsanitize=${AUTHD_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(authd_settings INTERFACE -fsanitize=${AUTHD_SANITIZE})
endif()

if(AUTHD_FUZZ)
  target_compile_options(authd_settings INTERFACE -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  target_link_options(authd_settings INTERFACE -fsanitize=address,undefined)
endif()

add_library(authd_warnings INTERFACE)
target_compile_options(authd_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(AUTHD_WERROR)
  target_compile_options(authd_warnings INTERFACE -Werror)
endif()
