# Included from tests/CMakeLists.txt. Adds the ctests fuzz_decoder_short and fuzz_auth_short:
# each configures and builds tests/fuzz (its fuzzer) inside this build tree, seeds a corpus
# (tests/vectors for the decoder, tests/fuzz/corpus/<area>/ for both) and runs a bounded
# session; any crash, leak, undefined behaviour or broken invariant fails the test. Longer
# runs: see docs/protocol.md and docs/benchmarks.md "Fuzzing".
find_program(RELAY_FUZZ_CLANGXX NAMES clang++ clang++-14 DOC "clang++ for the libFuzzer targets")
if(NOT RELAY_FUZZ_CLANGXX)
  # Registered anyway, failing: a missing tool must never make the suite pass without the fuzzer.
  message(WARNING "clang++ not found: fuzz_decoder_short will fail (apt-get install clang libclang-rt-14-dev)")
  foreach(name fuzz_decoder_short fuzz_auth_short)
    add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -E echo
      "clang++ is not installed (apt-get install clang libclang-rt-14-dev; scripts/dev.sh test installs it)")
    set_tests_properties(${name} PROPERTIES WILL_FAIL TRUE LABELS fuzz)
  endforeach()
  return()
endif()

set(RELAY_FUZZ_RUNS 30000 CACHE STRING "Inputs the short fuzz test tries")
set(RELAY_FUZZ_SECONDS 60 CACHE STRING "Time limit of the short fuzz test's run, seconds")

# relay_add_fuzz_test(<name> <fuzzer> <work dir> [-D… for run_fuzz_test.cmake]): a bounded session
# of one fuzzer of tests/fuzz, built in <build>/tests/<work dir>/build.
function(relay_add_fuzz_test name fuzzer work_dir)
  add_test(NAME ${name}
    COMMAND ${CMAKE_COMMAND}
      -DSOURCE_DIR=${CMAKE_CURRENT_LIST_DIR}
      -DFUZZER=${fuzzer}
      -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/${work_dir}
      -DCXX=${RELAY_FUZZ_CLANGXX}
      -DGENERATOR=${CMAKE_GENERATOR}
      -DRUNS=${RELAY_FUZZ_RUNS}
      -DSECONDS=${RELAY_FUZZ_SECONDS}
      ${ARGN}
      -P ${CMAKE_CURRENT_LIST_DIR}/run_fuzz_test.cmake)
  # COST: on a first run (no timings recorded yet) ctest -j starts the longest entries first, so
  # this one does not end the run alone on one core.
  set_tests_properties(${name} PROPERTIES TIMEOUT 1800 LABELS fuzz COST 100)
endfunction()

relay_add_fuzz_test(fuzz_decoder_short decoder_fuzzer fuzz -DVECTORS_DIR=${CMAKE_CURRENT_LIST_DIR}/../vectors)
relay_add_fuzz_test(fuzz_auth_short auth_fuzzer fuzz_auth)
