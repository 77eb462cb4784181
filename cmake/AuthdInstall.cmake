# Install rules (GNUInstallDirs): `cmake --install BUILD [--prefix DIR]`, also what debian/rules
# runs. The daemon and the admin tool go to sbin (authctl reads the root-only config and writes the
# store), the checkpassword client to bin (Dovecot and Apache exec it as their own users).
include(GNUInstallDirs)

option(AUTHD_MAN "Build the man pages from man/*.scd (needs scdoc; skipped with a message if missing)" ON)
option(AUTHD_REQUIRE_MAN "Fail the configure step when scdoc is missing (the Debian package sets it)" OFF)
set(AUTHD_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
    "Where authd.service and authd.socket go (relative: under the prefix; the package passes /lib/systemd/system or /usr/lib/systemd/system)")
set(AUTHD_TMPFILESDIR "lib/tmpfiles.d" CACHE STRING
    "Where the tmpfiles.d snippet for /run/authd goes (relative: under the prefix)")

install(TARGETS authd authctl RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS authd-checkpassword RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Man pages, built at build time (part of `all`).
set(_authd_man_dir ${PROJECT_SOURCE_DIR}/man)
if(AUTHD_MAN AND EXISTS ${_authd_man_dir})
  find_program(SCDOC scdoc)
  if(SCDOC)
    file(GLOB _authd_man_sources CONFIGURE_DEPENDS ${_authd_man_dir}/*.scd)
    set(_authd_man_pages)
    foreach(src IN LISTS _authd_man_sources)
      get_filename_component(page ${src} NAME_WLE)            # authd.8, authd.toml.5
      string(REGEX MATCH "[0-9]$" section ${page})
      set(out ${CMAKE_BINARY_DIR}/man/${page})
      add_custom_command(OUTPUT ${out}
        COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
        COMMAND ${SCDOC} < ${src} > ${out}
        DEPENDS ${src} VERBATIM COMMENT "scdoc ${page}")
      list(APPEND _authd_man_pages ${out})
      install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
    endforeach()
    add_custom_target(authd_man ALL DEPENDS ${_authd_man_pages})
  elseif(AUTHD_REQUIRE_MAN)
    message(FATAL_ERROR "scdoc not found: it builds the man pages (apt-get install scdoc)")
  else()
    message(STATUS "scdoc not found: the man pages (man/*.scd) are not built or installed")
  endif()
endif()

# Documentation and the example configurations (Dovecot, Apache, Radicale, systemd, authd.toml).
foreach(doc README.md ARCHITECTURE.md)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${doc})
    install(FILES ${PROJECT_SOURCE_DIR}/${doc} DESTINATION ${CMAKE_INSTALL_DOCDIR})
  endif()
endforeach()
if(EXISTS ${PROJECT_SOURCE_DIR}/contrib)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/contrib/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
          FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
endif()

# systemd units and the tmpfiles.d snippet. The units name the package's paths (/usr/sbin/authd);
# for another prefix they are rewritten to the configured sbindir.
set(_authd_units ${PROJECT_SOURCE_DIR}/contrib/systemd)
if(EXISTS ${_authd_units}/authd.service)
  foreach(unit authd.service authd.socket)
    file(READ ${_authd_units}/${unit} _text)
    string(REPLACE "/usr/sbin/" "${CMAKE_INSTALL_FULL_SBINDIR}/" _text "${_text}")
    file(WRITE ${CMAKE_BINARY_DIR}/systemd/${unit} "${_text}")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_authd_units}/${unit})
    install(FILES ${CMAKE_BINARY_DIR}/systemd/${unit} DESTINATION ${AUTHD_SYSTEMD_UNITDIR})
  endforeach()
  install(FILES ${_authd_units}/authd-tmpfiles.conf DESTINATION ${AUTHD_TMPFILESDIR} RENAME authd.conf)
endif()
