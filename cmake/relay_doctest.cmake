# One ctest entry per doctest test case, so `ctest -j` spreads the cases over the cores and a
# failure names its case. Like doctest's own doctest_discover_tests, the cases are listed after
# each build by running the executable with --list-test-cases (cmake/relay_doctest_cases.cmake);
# unlike it, every entry fails unless its filter ran exactly one case: doctest exits 0 when a
# filter matches nothing, which would be a test that cannot fail.
set(RELAY_DOCTEST_CASES_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/relay_doctest_cases.cmake)

# relay_discover_doctest_cases(<target> SUITE <name> TIMEOUT <seconds per case> [COST <n>]
#                              [FIXTURES <fixture>…] [ENVIRONMENT <NAME=value>…]):
# entries are named "<suite>: <test case>". COST orders a first run, before ctest has timings of
# its own: entries of higher cost start first. FIXTURES and ENVIRONMENT go to every entry
# (FIXTURES_REQUIRED: a shared server started before them). One target may be discovered under
# several suite names, each with its own environment (the integration suite on PostgreSQL).
function(relay_discover_doctest_cases target)
  cmake_parse_arguments(arg "" "SUITE;TIMEOUT;COST" "FIXTURES;ENVIRONMENT" ${ARGN})
  if(NOT DEFINED arg_COST)
    set(arg_COST 0)
  endif()
  # Extra properties of every entry, as ctest-file text; ';' inside a custom command's argument
  # would split it, so it travels as $<SEMICOLON>.
  set(properties "")
  if(arg_FIXTURES)
    string(APPEND properties " FIXTURES_REQUIRED [==[${arg_FIXTURES}]==]")
  endif()
  if(arg_ENVIRONMENT)
    string(APPEND properties " ENVIRONMENT [==[${arg_ENVIRONMENT}]==]")
  endif()
  string(REPLACE ";" "$<SEMICOLON>" properties "${properties}")
  set(cases_file ${CMAKE_CURRENT_BINARY_DIR}/${target}_${arg_SUITE}_cases.cmake)
  set(loader_file ${CMAKE_CURRENT_BINARY_DIR}/${target}_${arg_SUITE}_include.cmake)
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND ${CMAKE_COMMAND}
      -D EXECUTABLE=$<TARGET_FILE:${target}>
      -D SUITE=${arg_SUITE}
      -D TIMEOUT=${arg_TIMEOUT}
      -D COST=${arg_COST}
      -D PROPERTIES=${properties}
      -D CASES_FILE=${cases_file}
      -P ${RELAY_DOCTEST_CASES_SCRIPT}
    BYPRODUCTS ${cases_file}
    VERBATIM)
  # A changed script relinks the executable, so the list is written again.
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${RELAY_DOCTEST_CASES_SCRIPT})
  # Before the first build there is no list: one entry that fails says so.
  file(WRITE ${loader_file}
    "if(EXISTS [==[${cases_file}]==])\n"
    "  include([==[${cases_file}]==])\n"
    "else()\n"
    "  add_test(${target}_${arg_SUITE}_NOT_BUILT ${target}_NOT_BUILT)\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${loader_file})
endfunction()
