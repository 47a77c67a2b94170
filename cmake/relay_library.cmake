# What every library of this project (librelay's components, the robot SDK) has in common: its
# exported name, its ABI version when shared, the symbols it exports, and where it installs.
#
# A shared build (BUILD_SHARED_LIBS=ON) exports only what cmake/relay_exports.map lists, the
# relay:: API, plus Boost's (see the map why), and names the library with the project's version
# (librelay_store.so.0.1.0) and an ABI version, SOVERSION, of MAJOR.MINOR while the project is 0.x:
# before 1.0 every minor release may break the ABI.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(RELAY_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
else()
  set(RELAY_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()
set(RELAY_EXPORTS_MAP ${CMAKE_CURRENT_LIST_DIR}/relay_exports.map)

function(relay_library target export_name)
  add_library(relay::${export_name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name} OUTPUT_NAME ${target})
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "SHARED_LIBRARY")
    # No <target>_EXPORTS definition: no header uses one (the map decides what is exported), and
    # without it the objects compile exactly as in the static build, so ccache serves them.
    set_target_properties(${target} PROPERTIES VERSION ${PROJECT_VERSION} SOVERSION ${RELAY_SOVERSION}
      LINK_DEPENDS ${RELAY_EXPORTS_MAP} DEFINE_SYMBOL "")
    target_link_options(${target} PRIVATE "LINKER:--version-script=${RELAY_EXPORTS_MAP}")
  endif()
  install(TARGETS ${target} EXPORT relay-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endfunction()
