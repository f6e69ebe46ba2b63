// Private to the store: the state of an open ResultWriter, shared by writer.cpp (create,
// append, flush, finish) and recovery.cpp (resume, rebuild, seed_journal).
#pragma once
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "msweep/core/grid.hpp"
#include "msweep/core/timer.hpp"
#include "msweep/store/hdf5.hpp"
#include "msweep/store/journal.hpp"
#include "msweep/store/output_lock.hpp"
#include "msweep/store/results.hpp"
#include "msweep/core/summary.hpp"
#include "results_file.hpp"
#include "row_codec.hpp"

namespace msweep {

struct ResultWriter::State {
  OutputLock lock;  // first member: released last, after the file and journal are closed
  std::string path;
  ResultLayout layout;
  TaskGrid grid;
  WriterOptions options;
  std::unique_ptr<store_detail::RowCodec> codec;
  h5::TransferBuffers row_transfer;  // for the /tasks rows, kept across flushes
  h5::Handle file, tasks;
  std::vector<h5::Handle> arrays;
  store_detail::RunStateDataset state_dataset;  // /state, rewritten at every flush
  std::vector<std::uint64_t> array_elements;
  std::uint64_t committed = 0;
  store_detail::RunState run_state;  // /state as last written
  // Summaries of the committed rows, accumulated as they are flushed (empty when the grid's
  // run sums exceed the store's budget: then computed from the file at the end only).
  std::optional<SummaryBuilder> summary;
  WallTimer since_summaries;  // since /summaries was last written
  // One bit per task of the grid: stored (committed, or restored from the journal) when a
  // resumed writer was opened; empty for create.
  std::vector<bool> stored;
  JournalWriter journal;  // empty when options.journal is off
  RecoveryReport recovery;

  // Buffered rows: encoded bytes, the error texts of failed rows (a deque never moves its
  // strings, so the pointers inside the encoded rows stay valid), and array values.
  std::vector<unsigned char> rows;
  std::deque<std::string> errors;
  std::vector<std::vector<double>> array_rows;
  std::uint64_t buffered = 0;
  WallTimer oldest_buffered;
  std::vector<std::uint32_t> coordinates;

  // The one initialisation of create and resume: takes the open file (of `committed` rows)
  // and opens its datasets. Opens no journal.
  State(const std::string& path, const ResultLayout& layout, const WriterOptions& options, h5::Handle file,
        const store_detail::RunState& run_state);

  // Encodes one result into the buffered rows (the journal is the caller's business).
  void buffer(const TaskResult& result);

  // Resume, once every attribute is rewritten and the rows are checked: readers in other
  // processes may open the file again while it is written (SWMR). (create opens in SWMR mode.)
  void start_swmr();
  // Rewrites /summaries from `summary` and records the rows it covers in /state (not flushed).
  void write_streamed_summaries();

  // Writes every committed row into a new journal: a resumed file without one (finished, or
  // made by merge) must not leave its old rows outside the record a rebuild starts from.
  void seed_journal();
};

JournalHeader journal_header_of(const ResultLayout& layout);

}  // namespace msweep
