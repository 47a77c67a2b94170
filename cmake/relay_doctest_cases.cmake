# Run by relay_discover_doctest_cases (cmake/relay_doctest.cmake) after a test executable is
# built: writes CASES_FILE, one ctest entry per test case of EXECUTABLE, named "SUITE: case".
#   -D EXECUTABLE=… -D SUITE=… -D TIMEOUT=… -D COST=… -D CASES_FILE=… [-D PROPERTIES=…]
#   -P relay_doctest_cases.cmake
# PROPERTIES: more test properties for every entry, as ctest-file text.
execute_process(COMMAND ${EXECUTABLE} --list-test-cases --no-version=true
  OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXECUTABLE} --list-test-cases failed (${rc}):\n${listing}")
endif()

# The names are the lines between doctest's "[doctest] …" and "====" lines; the last line says how
# many there are. Names may hold ';', '[' and ']', which a CMake list would split on or pair up,
# so the listing is read line by line as a string, never as a list.
set(script "")
set(seen "\n")
set(count 0)
set(expected -1)
while(NOT listing STREQUAL "")
  string(FIND "${listing}" "\n" end)
  if(end EQUAL -1)
    set(line "${listing}")
    set(listing "")
  else()
    string(SUBSTRING "${listing}" 0 ${end} line)
    math(EXPR end "${end} + 1")
    string(SUBSTRING "${listing}" ${end} -1 listing)
  endif()
  if(line MATCHES "^\\[doctest\\] unskipped test cases passing the current filters: ([0-9]+)")
    set(expected ${CMAKE_MATCH_1})
    continue()
  endif()
  if(line STREQUAL "" OR line MATCHES "^\\[doctest\\] " OR line MATCHES "^=+$")
    continue()
  endif()
  if(line MATCHES "]==]")
    message(FATAL_ERROR "test case name cannot be written to ctest: ${line}")
  endif()
  string(FIND "${seen}" "\n${line}\n" earlier)
  if(NOT earlier EQUAL -1)
    # An entry runs one case by its name: two cases of the same name cannot be told apart.
    message(FATAL_ERROR "two test cases are named \"${line}\" in ${EXECUTABLE}; names must be unique")
  endif()
  string(APPEND seen "${line}\n")
  math(EXPR count "${count} + 1")
  # doctest's filter: ',' separates filters and '\' escapes it; '*' and '?' are wildcards, so in
  # a name '*' becomes '?' (one character, itself included). Case-sensitive, whole-name match.
  string(REPLACE "\\" "\\\\" filter "${line}")
  string(REPLACE "," "\\," filter "${filter}")
  string(REPLACE "*" "?" filter "${filter}")
  # Passes only if doctest's summary says exactly one case ran and it passed: doctest exits 0
  # when a filter matches nothing. (A crash still fails: ctest fails a test killed by a signal.)
  string(APPEND script
    "add_test([==[${SUITE}: ${line}]==] [==[${EXECUTABLE}]==] [==[--test-case=${filter}]==]\n"
    "  --case-sensitive=true --no-colors=true)\n"
    "set_tests_properties([==[${SUITE}: ${line}]==] PROPERTIES TIMEOUT ${TIMEOUT} COST ${COST}\n"
    "  PASS_REGULAR_EXPRESSION [==[test cases: +1 \\| +1 passed \\| +0 failed]==]${PROPERTIES})\n")
endwhile()
if(NOT count EQUAL expected)
  message(FATAL_ERROR "read ${count} test case names from ${EXECUTABLE}, doctest counted ${expected}")
endif()
file(WRITE "${CASES_FILE}" "${script}")
