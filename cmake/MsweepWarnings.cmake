# One interface target carries the warning flags so every project target gets the same ones
# and third-party headers (included as SYSTEM) stay quiet.
add_library(msweep_warnings INTERFACE)
target_compile_options(msweep_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Wunused
  -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
  # GCC 12 reports false -Wrestrict positives inside std::string (GCC bug 105329); clang has no
  # such warning (the fuzz preset builds with clang).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
option(MSWEEP_WERROR "Treat warnings as errors" OFF)
if(MSWEEP_WERROR)
  target_compile_options(msweep_warnings INTERFACE -Werror)
endif()
