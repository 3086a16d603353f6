# Read by cpack for each generator (CPACK_PROJECT_CONFIG_FILE): values that depend on the version
# actually packaged, so `cpack -D CPACK_PACKAGE_VERSION=...` names its files consistently.
if(CPACK_GENERATOR STREQUAL "RPM")
    set(CPACK_RPM_FILE_NAME "vaultmx-${CPACK_PACKAGE_VERSION}.x86_64.rpm")
    set(CPACK_RPM_PACKAGE_ARCHITECTURE x86_64)
endif()
