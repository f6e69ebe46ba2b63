#include "launch.hpp"

#include <cstdlib>

namespace msweep::app {
namespace {

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

std::string launcher_prefix() {
  // Processes started by mpirun (directly or inside a Slurm allocation) have the URI of
  // mpirun's daemon; srun --mpi=pmix ranks have SLURM_STEP_ID but no such URI.
  const std::string size = environment("OMPI_COMM_WORLD_SIZE");
  if (!environment("OMPI_MCA_orte_hnp_uri").empty() && !size.empty()) return "mpirun -n " + size;
  if (!environment("SLURM_STEP_ID").empty()) {
    const std::string tasks = environment("SLURM_STEP_NUM_TASKS").empty() ? environment("SLURM_NTASKS")
                                                                          : environment("SLURM_STEP_NUM_TASKS");
    if (!tasks.empty()) return "srun -n " + tasks;
  }
  return "";
}

std::string shell_quote(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+=/.,:@%") ==
                           std::string::npos)
    return word;
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string resume_command(const std::string& program, const std::string& job_path, const std::string& output,
                           const std::string& extra_options) {
  if (const std::string hint = environment("MSWEEP_RESUME_HINT"); !hint.empty()) return hint;
  const std::string prefix = launcher_prefix();
  // mpirun's own options (--oversubscribe, hosts) are invisible from here: say so at the end,
  // so the printed line is not taken for complete.
  const std::string reminder = prefix.rfind("mpirun", 0) == 0 ? "   (add your own mpirun options, e.g. --oversubscribe)" : "";
  return (prefix.empty() ? "" : prefix + " ") + shell_quote(program) + " run " + shell_quote(job_path) + " -o " +
         shell_quote(output) + " --resume" + extra_options + reminder;
}

}  // namespace msweep::app
