# Script behind the ctests fuzz_decoder_short and fuzz_auth_short (see register_fuzz_test.cmake):
#   cmake -DSOURCE_DIR=tests/fuzz -DWORK_DIR=… -DCXX=clang++ [-DFUZZER=decoder_fuzzer]
#         [-DVECTORS_DIR=tests/vectors] [-DGENERATOR=Ninja] [-DRUNS=30000] [-DSECONDS=60]
#         -P run_fuzz_test.cmake
# Seeds: the fuzzer's kept corpus (corpus/<name without _fuzzer>/), the shared vectors when
# VECTORS_DIR is given, and regressions/.
cmake_minimum_required(VERSION 3.20)
foreach(var SOURCE_DIR WORK_DIR CXX)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzz_test.cmake needs -D${var}=…")
  endif()
endforeach()
if(NOT FUZZER)
  set(FUZZER decoder_fuzzer)
endif()
string(REPLACE "_fuzzer" "" fuzzer_area ${FUZZER})
if(NOT RUNS)
  set(RUNS 30000)
endif()
if(NOT SECONDS)
  set(SECONDS 60)
endif()
set(generator_args)
if(GENERATOR)
  set(generator_args -G ${GENERATOR})
endif()

# Configure and build the standalone fuzzer project (incremental after the first run).
set(build_dir ${WORK_DIR}/build)
if(NOT EXISTS ${build_dir}/CMakeCache.txt)
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${build_dir} ${generator_args}
      -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=RelWithDebInfo
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "configuring the fuzzers failed: ${rc}")
  endif()
endif()
# Two jobs at most: the sanitized build is heavy and the machine is shared.
execute_process(COMMAND ${CMAKE_COMMAND} --build ${build_dir} --parallel 2 --target ${FUZZER} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building ${FUZZER} failed: ${rc}")
endif()

# Seed corpus: every valid input and every invalid text of the shared vectors, plus regressions/.
set(corpus ${WORK_DIR}/corpus)
file(REMOVE_RECURSE ${corpus})
file(MAKE_DIRECTORY ${corpus})
set(vector_files)
if(VECTORS_DIR)
  file(GLOB vector_files ${VECTORS_DIR}/*/*.json)
endif()
set(seeds 0)
foreach(path IN LISTS vector_files)
  file(READ ${path} content)
  get_filename_component(stem ${path} NAME_WE)
  get_filename_component(direction_dir ${path} DIRECTORY)
  get_filename_component(direction ${direction_dir} NAME)
  foreach(kind valid invalid)
    string(JSON count LENGTH "${content}" ${kind})
    if(count EQUAL 0)
      continue()
    endif()
    math(EXPR last "${count} - 1")
    foreach(i RANGE ${last})
      if(kind STREQUAL "valid")
        string(JSON seed GET "${content}" ${kind} ${i} input)
      else()
        string(JSON seed GET "${content}" ${kind} ${i} text)
      endif()
      file(WRITE ${corpus}/${direction}-${stem}-${kind}-${i} "${seed}")
      math(EXPR seeds "${seeds} + 1")
    endforeach()
  endforeach()
endforeach()
# The corpus kept in the repository: hand-written seeds in corpus/<area>/, and what long runs
# found, minimised with -merge=1, in corpus/<area>.tar.gz (thousands of small files as one).
if(EXISTS ${SOURCE_DIR}/corpus/${fuzzer_area}.tar.gz)
  file(ARCHIVE_EXTRACT INPUT ${SOURCE_DIR}/corpus/${fuzzer_area}.tar.gz DESTINATION ${corpus})
endif()
file(GLOB kept ${SOURCE_DIR}/corpus/${fuzzer_area}/*)
foreach(path IN LISTS kept)
  file(COPY ${path} DESTINATION ${corpus})
endforeach()
file(GLOB all_seeds ${corpus}/*)
list(LENGTH all_seeds seeds)
if(seeds EQUAL 0)
  message(FATAL_ERROR "no seeds for ${FUZZER} (${VECTORS_DIR}, ${SOURCE_DIR}/corpus/${fuzzer_area})")
endif()
# Inputs that once found a bug are always tried again.
file(GLOB regressions ${SOURCE_DIR}/regressions/${fuzzer_area}-*)
if(FUZZER STREQUAL "decoder_fuzzer")
  # The decoder's regressions predate the prefix.
  file(GLOB regressions ${SOURCE_DIR}/regressions/*.json)
endif()
foreach(path IN LISTS regressions)
  file(COPY ${path} DESTINATION ${corpus})
  math(EXPR seeds "${seeds} + 1")
endforeach()
message(STATUS "fuzzing with ${seeds} seeds, ${RUNS} runs or ${SECONDS} s")

# New inputs the fuzzer finds go to a scratch directory; the seeds stay as they are.
set(found ${WORK_DIR}/found)
file(REMOVE_RECURSE ${found})
file(MAKE_DIRECTORY ${found})
execute_process(
  COMMAND ${build_dir}/${FUZZER} -runs=${RUNS} -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048
    -max_len=8192 -dict=${SOURCE_DIR}/${fuzzer_area}.dict -artifact_prefix=${WORK_DIR}/ ${found} ${corpus}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} found a problem (exit ${rc}); the input is saved as ${WORK_DIR}/crash-* or leak-*:\n${out}")
endif()
string(REGEX MATCH "Done [0-9]+ runs[^\n]*" summary "${out}")
message(STATUS "${FUZZER}: ${summary}")
