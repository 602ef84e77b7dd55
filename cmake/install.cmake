# `cmake --install build --prefix P`: the library with its usage requirements, the public headers,
# the CLI, a CMake package (find_package(actlab CONFIG), target actlab::actlab) and actlab.pc.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set_target_properties(actlab_lib PROPERTIES EXPORT_NAME actlab)
add_library(actlab::actlab ALIAS actlab_lib)
install(TARGETS actlab_lib EXPORT actlabTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS actlab RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY src/actlab DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")

set(ACTLAB_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/actlab)
install(EXPORT actlabTargets NAMESPACE actlab:: DESTINATION ${ACTLAB_CMAKE_DIR})
configure_package_config_file(cmake/actlabConfig.cmake.in ${CMAKE_BINARY_DIR}/actlabConfig.cmake
  INSTALL_DESTINATION ${ACTLAB_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/actlabConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/actlabConfig.cmake ${CMAKE_BINARY_DIR}/actlabConfigVersion.cmake
  DESTINATION ${ACTLAB_CMAKE_DIR})

# pkg-config: the library is static, so its dependencies are listed in Requires, not Requires.private.
get_filename_component(ACTLAB_OPENBLAS_DIR ${OPENBLAS_LIBRARY} DIRECTORY)
file(RELATIVE_PATH ACTLAB_PC_PREFIX /${CMAKE_INSTALL_LIBDIR}/pkgconfig /)
get_target_property(ACTLAB_PC_DEFINES actlab_lib INTERFACE_COMPILE_DEFINITIONS)
if(NOT ACTLAB_PC_DEFINES)
  set(ACTLAB_PC_DEFINES "")
endif()
list(TRANSFORM ACTLAB_PC_DEFINES PREPEND -D)
list(JOIN ACTLAB_PC_DEFINES " " ACTLAB_PC_DEFINES)
configure_file(cmake/actlab.pc.in ${CMAKE_BINARY_DIR}/actlab.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/actlab.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# A test installs into a temporary prefix and builds examples/ against the installed package.
if(ACTLAB_BUILD_TESTS AND NOT ACTLAB_SANITIZE)
  add_test(NAME install_find_package
    COMMAND bash ${CMAKE_SOURCE_DIR}/tests/install/install_test.sh ${CMAKE_COMMAND} ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR}/examples
            ${ACTLAB_PYTHON_INSTALL_CHECK})
endif()
