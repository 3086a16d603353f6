# packaging: install rules and CPack settings for vaultmx_VERSION_amd64.deb and
# vaultmx-VERSION.x86_64.rpm (scripts/package builds both). Included once from the top-level
# CMakeLists.txt. A new file in the package is one install() line below; a new binary is one name in
# vmx_packaged_programs. Generator-specific values computed at cpack time live in cpack_options.cmake.
include_guard(GLOBAL)
include(GNUInstallDirs)

set(VMX_PACKAGE_LICENSE "Proprietary" CACHE STRING "Licence named in the packages and their copyright file")
set(VMX_PACKAGE_CONTACT "vaultmx maintainers <maintainers@vaultmx.invalid>" CACHE STRING "Package maintainer")

set(vmx_pkg_dir ${CMAKE_CURRENT_LIST_DIR})
set(vmx_pkg_build ${CMAKE_BINARY_DIR}/packaging)

# cpack installs without building everything first: scripts/package and the packaging test build
# only the packaged targets (vmx_package_inputs), and `ninja install` stays usable on a partial tree.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# --- programs -------------------------------------------------------------------------------------
# Installed under the packaging prefix (/usr): the daemon in sbin, the admin tools in bin. The other
# benchmark binaries are development tools and stay out.
set(vmx_packaged_programs vaultmxd vaultmx-portal vaultmx vaultmx-bench)
install(TARGETS vaultmxd vaultmx-portal RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS vaultmx vaultmx-bench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(PROGRAMS ${vmx_pkg_dir}/vaultmx-setup DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/vaultmx)

# --- configuration and systemd ----------------------------------------------------------------------
# The config's path is absolute (it does not move with the prefix; CPack's RPM generator marks
# absolute paths %config, which is right for it alone). The systemd files go under the prefix, /usr.
install(FILES ${vmx_pkg_dir}/vaultmx.toml DESTINATION /etc/vaultmx)
install(FILES ${vmx_pkg_dir}/systemd/vaultmx.service ${vmx_pkg_dir}/systemd/vaultmx.socket
              ${vmx_pkg_dir}/systemd/vaultmx-portal.service DESTINATION lib/systemd/system)
install(FILES ${vmx_pkg_dir}/systemd/vaultmx.sysusers DESTINATION lib/sysusers.d RENAME vaultmx.conf)
install(FILES ${vmx_pkg_dir}/systemd/vaultmx.tmpfiles DESTINATION lib/tmpfiles.d RENAME vaultmx.conf)

# --- documentation: man pages and the changelog gzipped reproducibly (gzip -9n) ---------------------
set(vmx_man_pages vaultmxd.8 vaultmx.8 vaultmx-bench.1 vaultmx.toml.5)
set(vmx_doc_outputs)
foreach(page IN LISTS vmx_man_pages)
    string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
    add_custom_command(OUTPUT ${vmx_pkg_build}/man/${page}.gz
        COMMAND ${CMAKE_COMMAND} -E make_directory ${vmx_pkg_build}/man
        COMMAND gzip -9nc ${vmx_pkg_dir}/man/${page} > ${vmx_pkg_build}/man/${page}.gz
        DEPENDS ${vmx_pkg_dir}/man/${page}
        VERBATIM)
    install(FILES ${vmx_pkg_build}/man/${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
    list(APPEND vmx_doc_outputs ${vmx_pkg_build}/man/${page}.gz)
endforeach()
add_custom_command(OUTPUT ${vmx_pkg_build}/changelog.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${vmx_pkg_build}
    COMMAND gzip -9nc ${vmx_pkg_dir}/doc/changelog > ${vmx_pkg_build}/changelog.gz
    DEPENDS ${vmx_pkg_dir}/doc/changelog
    VERBATIM)
list(APPEND vmx_doc_outputs ${vmx_pkg_build}/changelog.gz)
set(vmx_doc_dir ${CMAKE_INSTALL_DATAROOTDIR}/doc/vaultmx)
configure_file(${vmx_pkg_dir}/doc/copyright.in ${vmx_pkg_build}/copyright @ONLY)
install(FILES ${CMAKE_SOURCE_DIR}/README.md ${vmx_pkg_dir}/doc/operations.md ${vmx_pkg_build}/copyright
              ${vmx_pkg_build}/changelog.gz
        DESTINATION ${vmx_doc_dir})

# Everything the packages hold that the build makes: `ninja vmx_package_inputs` then cpack.
add_custom_target(vmx_package_docs ALL DEPENDS ${vmx_doc_outputs})
add_custom_target(vmx_package_inputs DEPENDS ${vmx_packaged_programs} vmx_package_docs)

# --- CPack: what both generators share ------------------------------------------------------------
set(CPACK_GENERATOR "DEB;RPM")
set(CPACK_PACKAGE_NAME vaultmx)
set(CPACK_PACKAGE_VENDOR vaultmx)
set(CPACK_PACKAGE_CONTACT "${VMX_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "mail gateway appliance with encrypted storage")
file(READ ${vmx_pkg_dir}/doc/description.txt CPACK_PACKAGE_DESCRIPTION)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_RELOCATABLE OFF)
set(CPACK_THREADS 0)
set(CPACK_PROJECT_CONFIG_FILE ${vmx_pkg_dir}/cpack_options.cmake)

# --- .deb ------------------------------------------------------------------------------------------
# Library dependencies come from dpkg-shlibdeps; the rest are the tools the maintainer scripts call
# and the public suffix list DMARC reads.
configure_file(${vmx_pkg_dir}/deb/conffiles ${vmx_pkg_build}/deb/conffiles COPYONLY)
foreach(script postinst prerm postrm)
    file(COPY ${vmx_pkg_dir}/deb/${script} DESTINATION ${vmx_pkg_build}/deb
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd, init-system-helpers (>= 1.54), publicsuffix")
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${vmx_pkg_build}/deb/conffiles ${vmx_pkg_build}/deb/postinst ${vmx_pkg_build}/deb/prerm
    ${vmx_pkg_build}/deb/postrm)

# --- .rpm ------------------------------------------------------------------------------------------
# Library dependencies come from rpmbuild's soname scan (AutoReq); systemd is declared.
set(CPACK_RPM_PACKAGE_LICENSE "${VMX_PACKAGE_LICENSE}")
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_RELEASE 1)
set(CPACK_RPM_PACKAGE_AUTOREQ ON)
set(CPACK_RPM_PACKAGE_REQUIRES "systemd, publicsuffix-list")
set(CPACK_RPM_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_RPM_USER_FILELIST "%config(noreplace) /etc/vaultmx/vaultmx.toml")
# Folders other packages own stay out of the file list.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /usr/sbin /usr/libexec /usr/lib/systemd /usr/lib/systemd/system /usr/lib/sysusers.d /usr/lib/tmpfiles.d
    /usr/share/doc /usr/share/man /usr/share/man/man1 /usr/share/man/man5 /usr/share/man/man8)
set(CPACK_RPM_CHANGELOG_FILE ${vmx_pkg_dir}/rpm/changelog)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${vmx_pkg_dir}/rpm/post.sh)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${vmx_pkg_dir}/rpm/preun.sh)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${vmx_pkg_dir}/rpm/postun.sh)

include(CPack)
