# Every dependency is a Debian package found by name; nothing is downloaded.
# The apt package that provides each is named in the message so a missing one is a one-line fix.
macro(msweep_require found package what)
  if(NOT ${found})
    message(FATAL_ERROR "msweep needs ${what}: apt-get install -y ${package}")
  endif()
endmacro()

find_package(MPI REQUIRED COMPONENTS CXX)
find_package(Boost 1.74 REQUIRED COMPONENTS mpi serialization)
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(HDF5 REQUIRED COMPONENTS C)
find_package(tomlplusplus 3 QUIET)
msweep_require(tomlplusplus_FOUND libtomlplusplus-dev "toml++ (job files)")
find_package(CLI11 2 QUIET)
msweep_require(CLI11_FOUND libcli11-dev "CLI11 (command line)")
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)

# HDF5's FindHDF5 gives variables, not a target, on CMake 3.25 with Debian's serial build.
if(NOT TARGET msweep_hdf5)
  add_library(msweep_hdf5 INTERFACE)
  target_include_directories(msweep_hdf5 SYSTEM INTERFACE ${HDF5_C_INCLUDE_DIRS} ${HDF5_INCLUDE_DIRS})
  target_link_libraries(msweep_hdf5 INTERFACE ${HDF5_C_LIBRARIES})
  target_compile_definitions(msweep_hdf5 INTERFACE ${HDF5_DEFINITIONS})
endif()

# /usr/bin/python3 sees Debian's python3-* packages; the python3 on PATH may not.
set(MSWEEP_PYTHON /usr/bin/python3 CACHE FILEPATH "Python interpreter with Debian's h5py, pandas, sklearn")
