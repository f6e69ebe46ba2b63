// How this process was launched, for the command a user types to resume an interrupted run:
// under mpirun the hint must say `mpirun -n N`, or resuming starts one process, not N.
#pragma once
#include <string>

namespace msweep::app {

// "mpirun -n N" under Open MPI's mpirun (its daemons export OMPI_MCA_orte_hnp_uri), "srun -n N"
// inside a Slurm step without mpirun, or "" for a plain process. N is the world size.
std::string launcher_prefix();

// The command that resumes `output`: the launcher prefix, `program run JOB -o OUT --resume`
// and the extra options (e.g. " --shard 1/4"), each word shell-quoted when needed. When
// MSWEEP_RESUME_HINT is set (slurm/msweep.sbatch sets it to point at its resubmit line), that
// text is returned instead.
std::string resume_command(const std::string& program, const std::string& job_path, const std::string& output,
                           const std::string& extra_options);

// `word` as one shell word: unchanged when it holds only safe characters, else in single quotes.
std::string shell_quote(const std::string& word);

}  // namespace msweep::app
