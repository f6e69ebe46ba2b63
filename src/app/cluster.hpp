// Where a run ran, for the results file's provenance (docs/results-format.md): under Slurm
// the job, array task, restart count and node list; under any launcher, which rank ran on
// which host. Reads only the environment, knows nothing of MPI or HDF5.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace msweep::app {

// The name this rank reports as its host: Slurm's node name when it runs in a Slurm job
// (several slurmd on one machine share a hostname but not a node name), else MPI's
// processor name.
std::string rank_host_name(const std::string& processor_name);

// Root attributes for RunProvenance::cluster, from rank 0's environment and every rank's
// host (index = rank). The Slurm attributes are always present, empty outside Slurm, so a
// resume outside Slurm does not leave an earlier job's values behind.
std::vector<std::pair<std::string, std::string>> cluster_provenance(const std::vector<std::string>& rank_hosts);

// "n1: 0-1,3; n2: 2": ranks grouped by host, hosts in order of their first rank.
std::string ranks_by_host(const std::vector<std::string>& rank_hosts);

// Names of the attributes cluster_provenance writes, in the order inspect shows them.
const std::vector<std::string>& cluster_attribute_names();

}  // namespace msweep::app
