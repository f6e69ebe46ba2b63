// Fuzz target: the job-file path of `msweep plan` and `run` before any MPI or HDF5 work
// (src/app/job_setup.cpp): parse the job, build the experiment of its kind (loading its data),
// reject unknown keys and describe the results layout. InputError is the expected way to
// refuse a job; any other exception, crash or leak is a finding.
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "msweep/core/error.hpp"
#include "msweep/experiments/experiment.hpp"
#include "msweep/spec/job.hpp"

namespace {

// Data files beside the job, so jobs naming source = "csv:data.csv" or an image path = "image.pgm"
// reach the experiments' data paths (the readers themselves have their own targets).
void write_data_files(const msweep::fuzz::ScratchDirectory& scratch) {
  const std::string csv = "a,b,c,y\n1,2,0.5,3\n4,5,1.5,6\n7,8,2,9.5\n0,1,1,1\n2,2,3,1\n5,1,0,2\n";
  const std::string image = "P1\n8 4\n1 0 0 0 0 0 0 1\n0 1 0 0 0 0 1 0\n0 0 1 0 0 1 0 0\n0 0 0 1 1 0 0 0\n";
  scratch.write("data.csv", reinterpret_cast<const std::uint8_t*>(csv.data()), csv.size());
  scratch.write("image.pgm", reinterpret_cast<const std::uint8_t*>(image.data()), image.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& scratch = msweep::fuzz::scratch();
  static const bool data_written = (write_data_files(scratch), true);
  (void)data_written;
  const std::string path = scratch.write("job.toml", data, size);
  try {
    msweep::JobSpec spec = msweep::load_job(path);
    const auto experiment = msweep::make_experiment(spec);
    spec.reject_unknown_keys();
    (void)spec.resolved_json();
    const msweep::TaskGrid& grid = experiment->grid();
    if (grid.size() > 0) (void)grid.coordinates(grid.size() - 1);  // what `plan` counts and lists
    (void)experiment->metrics();
    (void)experiment->arrays();
  } catch (const msweep::InputError&) {
  }
  return 0;
}
