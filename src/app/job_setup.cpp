#include "job_setup.hpp"

#include <unistd.h>

#include <filesystem>

#include "msweep/core/error.hpp"

namespace msweep::app {

PreparedJob prepare_job(const std::string& job_path) {
  PreparedJob job;
  job.spec = load_job(job_path);
  job.experiment = make_experiment(job.spec);
  job.spec.reject_unknown_keys();
  ResultLayout& layout = job.layout;
  layout.job_name = job.spec.name;
  layout.experiment = job.spec.kind;
  layout.job_path = job.spec.path;
  layout.job_text = job.spec.text;
  layout.job_seed = job.spec.seed;
  layout.axes = job.experiment->grid().axes();
  for (const auto& metric : job.experiment->metrics()) {
    layout.metric_names.push_back(metric.name);
    layout.metric_descriptions.push_back(metric.description);
  }
  for (const auto& array : job.experiment->arrays())
    layout.arrays.push_back({array.name, std::vector<std::uint64_t>(array.shape.begin(), array.shape.end()), array.description});
  return job;
}

OutputMode check_output(const std::string& path, const PreparedJob& job, bool resume, bool force) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path output(path);
  if (fs::is_directory(output, ec)) throw InputError(path + ": output path is a directory (expected a file name ending in .h5)");
  if (fs::exists(output, ec)) {
    if (resume) {
      // Validate now, before MPI starts: same job (unless --force) and same schema.
      ResultReader existing(path);
      if (existing.attribute("job_hash") != job_hash(job.layout.job_text) && !force)
        throw InputError(path + ": belongs to another job (its job text differs from " + job.spec.path +
                         "); use --force to resume it anyway");
      if (access(path.c_str(), W_OK) != 0) throw InputError(path + ": results file is not writable");
      return OutputMode::resume;
    }
    if (!force) throw InputError(path + ": output file exists (use --resume to continue it, or --force to replace it)");
    if (access(path.c_str(), W_OK) != 0) throw InputError(path + ": existing output file is not writable");
    return OutputMode::replace;
  }
  // The nearest existing ancestor must be a writable directory; missing ones are made later.
  fs::path ancestor = fs::absolute(output, ec).parent_path();
  while (!ancestor.empty() && !fs::exists(ancestor, ec)) ancestor = ancestor.parent_path();
  if (!fs::is_directory(ancestor, ec))
    throw InputError(path + ": cannot create the output file: " + ancestor.string() + " is not a directory");
  if (access(ancestor.c_str(), W_OK) != 0)
    throw InputError(path + ": cannot create the output file: directory " + ancestor.string() + " is not writable");
  return resume ? OutputMode::resume_or_create : OutputMode::create;
}

}  // namespace msweep::app
