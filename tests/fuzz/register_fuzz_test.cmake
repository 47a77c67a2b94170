# Included from tests/CMakeLists.txt. Adds the ctest fuzz_decoder_short: it configures and builds tests/fuzz (the decoder fuzzer) inside this build
# tree, seeds a corpus from tests/vectors and runs a bounded session; any crash, leak or
# undefined behaviour fails the test. Longer runs: see docs/protocol.md.
find_program(RELAY_FUZZ_CLANGXX NAMES clang++ clang++-14 DOC "clang++ for the libFuzzer targets")
if(NOT RELAY_FUZZ_CLANGXX)
  # Registered anyway, failing: a missing tool must never make the suite pass without the fuzzer.
  message(WARNING "clang++ not found: fuzz_decoder_short will fail (apt-get install clang libclang-rt-14-dev)")
  add_test(NAME fuzz_decoder_short COMMAND ${CMAKE_COMMAND} -E echo
    "clang++ is not installed (apt-get install clang libclang-rt-14-dev; scripts/dev.sh test installs it)")
  set_tests_properties(fuzz_decoder_short PROPERTIES WILL_FAIL TRUE LABELS fuzz)
  return()
endif()

set(RELAY_FUZZ_RUNS 30000 CACHE STRING "Inputs the short fuzz test tries")
set(RELAY_FUZZ_SECONDS 60 CACHE STRING "Time limit of the short fuzz test's run, seconds")

add_test(NAME fuzz_decoder_short
  COMMAND ${CMAKE_COMMAND}
    -DSOURCE_DIR=${CMAKE_CURRENT_LIST_DIR}
    -DVECTORS_DIR=${CMAKE_CURRENT_LIST_DIR}/../vectors
    -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/fuzz
    -DCXX=${RELAY_FUZZ_CLANGXX}
    -DGENERATOR=${CMAKE_GENERATOR}
    -DRUNS=${RELAY_FUZZ_RUNS}
    -DSECONDS=${RELAY_FUZZ_SECONDS}
    -P ${CMAKE_CURRENT_LIST_DIR}/run_fuzz_test.cmake)
# COST: on a first run (no timings recorded yet) ctest -j starts the longest entries first, so this
# one does not end the run alone on one core.
set_tests_properties(fuzz_decoder_short PROPERTIES TIMEOUT 1800 LABELS fuzz COST 100)
