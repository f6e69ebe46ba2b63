// What the benchmarks print about msweep's side of a comparison: Eigen's version, the SIMD
// instruction sets its kernels were compiled for (fixed at compile time: no runtime dispatch,
// hence the bitwise contract of the v3 preset), whether products go to an external BLAS, the
// compiler flags, and the threads. The peer's side is reported by bench/common.py.
#pragma once

#include <Eigen/Core>
#include <cstdio>

namespace msweep::bench {

// The exit status of a benchmark whose peer is missing or runs on the reference BLAS (common.py).
inline constexpr int kPeerNotReady = 3;

inline void print_eigen_report() {
#ifdef EIGEN_USE_BLAS
  constexpr const char* products = "large products through EIGEN_USE_BLAS (the system libblas)";
#else
  constexpr const char* products = "Eigen's own kernels for every product (no external BLAS)";
#endif
  // The EIGEN_VECTORIZE_* macros beyond SSE2 that this translation unit was compiled with.
  constexpr const char* wide_sets = ""
#ifdef EIGEN_VECTORIZE_AVX512
                                    " AVX512"
#endif
#ifdef EIGEN_VECTORIZE_AVX2
                                    " AVX2"
#endif
#ifdef EIGEN_VECTORIZE_FMA
                                    " FMA"
#endif
      ;
  std::printf("msweep: Eigen %d.%d.%d, %s; SIMD in use: %s; EIGEN_VECTORIZE_*:%s; CXX_FLAGS '%s'; %d thread(s)\n",
              EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION, products, Eigen::SimdInstructionSetsInUse(),
              *wide_sets ? wide_sets : " none beyond SSE2", MSWEEP_CXX_FLAGS, Eigen::nbThreads());
  std::fflush(stdout);  // before the peer's own report, which goes to stderr
}

}  // namespace msweep::bench
