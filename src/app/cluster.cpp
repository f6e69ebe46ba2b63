#include "cluster.hpp"

#include <cstdlib>

namespace msweep::app {
namespace {

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// "0-2,5": sorted ranks as ranges.
std::string rank_ranges(const std::vector<int>& ranks) {
  std::string out;
  for (std::size_t i = 0; i < ranks.size();) {
    std::size_t j = i;
    while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(ranks[i]) + (j > i ? "-" + std::to_string(ranks[j]) : "");
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string rank_host_name(const std::string& processor_name) {
  const std::string node = environment("SLURMD_NODENAME");
  return node.empty() ? processor_name : node;
}

std::string ranks_by_host(const std::vector<std::string>& rank_hosts) {
  std::vector<std::pair<std::string, std::vector<int>>> groups;
  for (int rank = 0; rank < static_cast<int>(rank_hosts.size()); ++rank) {
    auto group = groups.begin();
    while (group != groups.end() && group->first != rank_hosts[rank]) ++group;
    if (group == groups.end()) group = groups.insert(groups.end(), {rank_hosts[rank], {}});
    group->second.push_back(rank);
  }
  std::string out;
  for (const auto& [host, ranks] : groups) out += (out.empty() ? "" : "; ") + host + ": " + rank_ranges(ranks);
  return out;
}

const std::vector<std::string>& cluster_attribute_names() {
  static const std::vector<std::string> names{"slurm_job_id",        "slurm_array_job_id", "slurm_array_task_id",
                                              "slurm_restart_count", "slurm_nodelist",     "rank_hosts"};
  return names;
}

std::vector<std::pair<std::string, std::string>> cluster_provenance(const std::vector<std::string>& rank_hosts) {
  const std::string job = environment("SLURM_JOB_ID");
  // Slurm leaves SLURM_RESTART_COUNT unset on a job's first start.
  const std::string restarts = job.empty() ? "" : environment("SLURM_RESTART_COUNT").empty() ? "0" : environment("SLURM_RESTART_COUNT");
  return {{"slurm_job_id", job},
          {"slurm_array_job_id", environment("SLURM_ARRAY_JOB_ID")},
          {"slurm_array_task_id", environment("SLURM_ARRAY_TASK_ID")},
          {"slurm_restart_count", restarts},
          {"slurm_nodelist", environment("SLURM_JOB_NODELIST")},
          {"rank_hosts", ranks_by_host(rank_hosts)}};
}

}  // namespace msweep::app
