# Fails when a doctest case name cannot be one ctest test: doctest_discover_tests reads the case
# list as a CMake list, so a ';' in a name splits it into two tests that each match no case and
# pass without running anything.
#   cmake -DTESTS=<salab_tests> -P check_case_names.cmake
execute_process(COMMAND ${TESTS} --list-test-cases OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${TESTS} --list-test-cases failed (${rc})")
endif()
string(FIND "${out}" ";" at)
if(NOT at EQUAL -1)
  string(REGEX MATCHALL "[^\n]*;[^\n]*" bad "${out}")
  message(FATAL_ERROR "doctest case names with ';' (use ',' instead): ${bad}")
endif()
