// A small checked RAII layer over the HDF5 C API (HighFive is not packaged in Debian).
// Every call that can fail goes through check(), which throws StoreError carrying the
// innermost message of HDF5's error stack and what we were doing; handles close themselves.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "msweep/core/error.hpp"

namespace msweep::h5 {

// An HDF5 file lock held by another process ("unable to lock file"): the file is in use,
// not damaged. Only open_file throws it.
class FileLockedError : public StoreError {
 public:
  using StoreError::StoreError;
};

// Silences HDF5's own stderr printing (we report errors ourselves); call once per process.
void silence_library_errors();

// The innermost message on HDF5's error stack (empty if none).
std::string last_error_message();

// Throws StoreError("<context>: <what> failed: <HDF5 message>") when status < 0.
hid_t check(hid_t status, const char* what, const std::string& context);

class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)), closer_(other.closer_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
      closer_ = other.closer_;
    }
    return *this;
  }
  ~Handle() { reset(); }

  hid_t id() const { return id_; }
  explicit operator bool() const { return id_ >= 0; }
  void reset() noexcept {
    if (id_ >= 0 && closer_) closer_(id_);  // destructors must not throw; closing errors surface at flush
    id_ = H5I_INVALID_HID;
  }
  // Closes now and reports failure (used for files, where close writes data).
  void close(const std::string& context);

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// Whether `path` is an HDF5 file (false also when it cannot be read or checked).
bool is_hdf5_file(const std::string& path);
// Files are written in HDF5's latest format (1.10: superblock 3, checksummed metadata), which
// single-writer/multiple-reader mode (SWMR) requires; HDF5 >= 1.10 and h5py read them.
Handle create_file(const std::string& path);  // fails if the file exists
// Readers open with SWMR_READ: a coherent view of a file an SWMR writer is appending to, and
// of one whose SWMR writer was killed. A writer (only ever under msweep's own OUTPUT.lock)
// clears the "open for writing" marks a killed writer left in the superblock, as `h5clear -s`
// does, since no other writer can exist. Throws FileLockedError when another process holds
// HDF5's lock on the file. swmr_write opens a writable file in SWMR mode at once (no moment
// in which SWMR readers are refused, as between a plain open and start_swmr_write).
Handle open_file(const std::string& path, bool writable, bool swmr_write = false);
// Enters SWMR mode: from here on readers in other processes may open the file while it is
// written; no object or attribute may be created or deleted, only dataset values written and
// extendible datasets grown (docs/results-format.md, "Reading while a run writes").
void start_swmr_write(const Handle& file, const std::string& context);
void flush(const Handle& file, const std::string& context);

bool exists(const Handle& location, const std::string& name);
Handle create_group(const Handle& location, const std::string& name, const std::string& context);
Handle open_group(const Handle& location, const std::string& name, const std::string& context);
Handle open_dataset(const Handle& location, const std::string& name, const std::string& context);
void unlink(const Handle& location, const std::string& name, const std::string& context);

// Attributes: scalars, strings, and string arrays (variable-length UTF-8, as h5py writes str).
bool has_attribute(const Handle& object, const std::string& name);
void write_attribute(const Handle& object, const std::string& name, const std::string& value, const std::string& context);
void write_attribute(const Handle& object, const std::string& name, std::int64_t value, const std::string& context);
void write_attribute(const Handle& object, const std::string& name, std::uint64_t value, const std::string& context);
void write_attribute(const Handle& object, const std::string& name, double value, const std::string& context);
void write_attribute(const Handle& object, const std::string& name, const std::vector<std::string>& values,
                     const std::string& context);
std::string read_string_attribute(const Handle& object, const std::string& name, const std::string& context);
std::int64_t read_int_attribute(const Handle& object, const std::string& name, const std::string& context);
std::uint64_t read_uint_attribute(const Handle& object, const std::string& name, const std::string& context);
std::vector<std::string> read_string_array_attribute(const Handle& object, const std::string& name, const std::string& context);

// A 1-D dataset of variable-length UTF-8 strings.
// `count` values, value_of(i) for i in [0, count), made and written a block at a time (an
// axis of 2^20 generated labels is never materialized whole).
void write_string_dataset(const Handle& location, const std::string& name, std::uint64_t count,
                          const std::function<std::string(std::uint64_t)>& value_of, const std::string& context);
std::vector<std::string> read_string_dataset(const Handle& location, const std::string& name, const std::string& context);

// Datatypes.
Handle variable_string_type(const std::string& context);
Handle copy_type(hid_t type, const std::string& context);

// A compound (struct-like) datatype whose memory layout the layer owns: the fields are
// packed in the order given, each at the offset after the previous one, so a row is
// size() bytes and callers reach a field only through put()/get() by its index. A field
// that is not `stored` keeps its room in the row but is left out of the HDF5 type: reading
// through such a type skips the field (used to read rows without their variable-length
// strings, which HDF5 would otherwise allocate one by one).
class CompoundType {
 public:
  // string: a variable-length string, a const char* in memory; text: a fixed-length,
  // NUL-padded string of text_bytes bytes in the row (SWMR allows no variable-length data).
  enum class Kind { uint64, uint32, int8, int32, float64, string, text };
  struct Field {
    std::string name;
    Kind kind;
    bool stored = true;
    std::size_t text_bytes = 0;  // Kind::text only
  };

  CompoundType() = default;
  // Throws StoreError (naming context and the field) when HDF5 refuses a field, e.g. a duplicate name.
  CompoundType(std::vector<Field> fields, const std::string& context);

  hid_t id() const { return type_.id(); }
  std::size_t size() const { return size_; }
  std::size_t field_count() const { return fields_.size(); }
  const Field& field(std::size_t index) const { return fields_[index]; }
  std::size_t offset(std::size_t index) const { return offsets_[index]; }
  static std::size_t size_of(Kind kind);
  // A text field: put cuts the value to the field's size, get stops at the first NUL.
  void put_text(unsigned char* row, std::size_t index, const std::string& value) const;
  std::string get_text(const unsigned char* row, std::size_t index) const;

  // Copies a value into / out of field `index` of the row at `row`; T must have the
  // field's size (checked: a mismatch is a programming error, thrown as ArgumentError).
  template <class T>
  void put(unsigned char* row, std::size_t index, const T& value) const {
    if (index >= value_bytes_.size() || value_bytes_[index] != sizeof(T)) wrong_size();
    std::memcpy(row + offsets_[index], &value, sizeof(T));
  }
  template <class T>
  T get(const unsigned char* row, std::size_t index) const {
    if (index >= value_bytes_.size() || value_bytes_[index] != sizeof(T)) wrong_size();
    T value;
    std::memcpy(&value, row + offsets_[index], sizeof(T));
    return value;
  }

 private:
  // The check of put and get is inline and allocates nothing (it runs for every field of
  // every row); the message is built only when it fails.
  [[noreturn]] static void wrong_size();
  std::vector<Field> fields_;
  std::vector<std::size_t> offsets_;
  std::vector<std::size_t> value_bytes_;  // of each field for put/get (0: a text field)
  std::size_t size_ = 0;
  Handle type_;
};

// Frees the variable-length members (strings) HDF5 allocated when it read `rows` rows of
// memory type `memory_type` into data.
void reclaim_variable_lengths(hid_t memory_type, hsize_t rows, void* data, const std::string& context);

// The dimensions of a dataset (rows first for the extendible datasets below).
std::vector<hsize_t> dataset_shape(const Handle& dataset, const std::string& context);

// Type conversion buffers for the row transfers below, made once and kept. Without them
// HDF5 allocates and zeroes its default 1 MiB conversion and 1 MiB background buffer on every
// H5Dwrite of a type it converts (the /tasks rows, for their variable-length error string):
// 2 MiB of memset per flush, 7% of the CPU samples of bench/store_bench.cpp (perf, journal on).
// Writing a variable-length type HDF5 fills the background buffer from the file first, so
// nothing of an earlier transfer shows through.
class TransferBuffers {
 public:
  // Buffers of max(1 MiB, 4 x row_bytes) each: HDF5 converts that much at a time.
  TransferBuffers(std::size_t row_bytes, const std::string& context);
  hid_t id() const { return properties_.id(); }  // the dataset transfer property list

 private:
  std::vector<unsigned char> conversion_, background_;
  Handle properties_;
};

// Extendible chunked datasets along dimension 0 (the row dimension).
Handle create_extendible(const Handle& location, const std::string& name, hid_t type, std::vector<hsize_t> row_shape,
                         hsize_t chunk_rows, const std::string& context);
hsize_t row_count(const Handle& dataset, const std::string& context);
// Rewrites `rows` existing rows from row `at` on (the extent does not change).
void overwrite_rows(const Handle& dataset, hid_t memory_type, hsize_t at, hsize_t rows, const void* data,
                    const std::string& context);
// Appends `rows` rows of memory type `memory_type` starting at data, after `at` existing rows
// (with `buffers` for the type conversion, when given).
void write_rows(const Handle& dataset, hid_t memory_type, hsize_t at, hsize_t rows, const void* data, const std::string& context,
                const TransferBuffers* buffers = nullptr);
void read_rows(const Handle& dataset, hid_t memory_type, hsize_t at, hsize_t rows, void* data, const std::string& context);
void set_extent(const Handle& dataset, hsize_t rows, const std::string& context);

}  // namespace msweep::h5
