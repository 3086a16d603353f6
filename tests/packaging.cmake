# Packaging: builds the .deb and .rpm from this (release) tree, checks them, installs the .deb in a
# throwaway root, upgrades, removes and purges it (tests/packaging/package_test.py). Needs root;
# skipped otherwise. Not registered for the sanitizer or fuzzing builds: packages ship release builds.
if(vmx_build_type STREQUAL "release" AND NOT VMX_FUZZ)
    add_test(NAME packaging.packages
             COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_LIST_DIR}/packaging/package_test.py)
    set_tests_properties(packaging.packages PROPERTIES
        ENVIRONMENT "VMX_BUILD_DIR=${CMAKE_BINARY_DIR};VMX_SOURCE_DIR=${CMAKE_SOURCE_DIR};VMX_CPACK=${CMAKE_CPACK_COMMAND};PYTHONDONTWRITEBYTECODE=1"
        SKIP_RETURN_CODE 77
        RESOURCE_LOCK vaultmx_packaging
        TIMEOUT 400)
endif()
