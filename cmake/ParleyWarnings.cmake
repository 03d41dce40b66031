# Project-wide compiler flags: warnings on (and fatal by default), optional sanitizers.
set(PARLEY_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Wunused -Woverloaded-virtual -Wimplicit-fallthrough)
# g++ 12 reports impossible memcpy overlaps inside std::string at -O3 (GCC bugs
# 105329, 105651); the warning has produced only false positives here.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND PARLEY_WARNINGS -Wno-restrict)
endif()
if(PARLEY_WERROR)
  list(APPEND PARLEY_WARNINGS -Werror)
endif()

if(PARLEY_FUZZ)
  # Every library the fuzz target links is instrumented for coverage and ASan.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
endif()

if(PARLEY_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# parley_library(NAME <target> [PURE] SOURCES ... DEPS ...)
# Declares one of Parley's libraries: public headers in include/parley/<name>/,
# warnings as above. DEPS are the only edges this library may use.
function(parley_library target)
  cmake_parse_arguments(PL "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${target} STATIC ${PL_SOURCES})
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_compile_options(${target} PRIVATE ${PARLEY_WARNINGS})
  target_link_libraries(${target} PUBLIC ${PL_DEPS})
endfunction()
