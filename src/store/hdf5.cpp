#include "msweep/store/hdf5.hpp"

#include <algorithm>
#include <filesystem>
#include <memory>

namespace msweep::h5 {
namespace {

herr_t innermost_message(unsigned n, const H5E_error2_t* error, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (n == 0 && error && error->desc) *out = error->desc;  // n = 0 is where the error was raised
  return 0;
}

herr_t find_lock_failure(unsigned, const H5E_error2_t* error, void* data) {
  if (error && error->min_num == H5E_CANTLOCKFILE) *static_cast<bool*>(data) = true;
  return 0;
}

std::vector<hsize_t> dimensions_of(const Handle& space, const std::string& context) {
  const int rank = static_cast<int>(check(H5Sget_simple_extent_ndims(space.id()), "H5Sget_simple_extent_ndims", context));
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0) check(H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr), "H5Sget_simple_extent_dims", context);
  return dims;
}

Handle string_type_for(bool variable, std::size_t size, const std::string& context) {
  Handle type(check(H5Tcopy(H5T_C_S1), "H5Tcopy", context), H5Tclose);
  check(H5Tset_size(type.id(), variable ? H5T_VARIABLE : size), "H5Tset_size", context);
  check(H5Tset_cset(type.id(), H5T_CSET_UTF8), "H5Tset_cset", context);
  return type;
}

template <class T>
void write_scalar_attribute(const Handle& object, const std::string& name, hid_t type, const T& value,
                            const std::string& context) {
  // Rewriting in place (rather than delete + create) keeps the object header's layout
  // unchanged, so a kill between flushes cannot leave it half-edited.
  Handle attribute;
  if (has_attribute(object, name)) {
    attribute = Handle(check(H5Aopen(object.id(), name.c_str(), H5P_DEFAULT), "H5Aopen", context + ": attribute " + name), H5Aclose);
  } else {
    Handle space(check(H5Screate(H5S_SCALAR), "H5Screate", context), H5Sclose);
    attribute = Handle(check(H5Acreate2(object.id(), name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2", context + ": attribute " + name), H5Aclose);
  }
  check(H5Awrite(attribute.id(), type, &value), "H5Awrite", context + ": attribute " + name);
}

template <class T>
T read_scalar_attribute(const Handle& object, const std::string& name, hid_t type, const std::string& context) {
  if (!has_attribute(object, name)) throw StoreError(context + ": attribute " + name + " is missing");
  Handle attribute(check(H5Aopen(object.id(), name.c_str(), H5P_DEFAULT), "H5Aopen", context + ": attribute " + name), H5Aclose);
  T value{};
  check(H5Aread(attribute.id(), type, &value), "H5Aread", context + ": attribute " + name);
  return value;
}

// Frees the strings HDF5 allocated while reading variable-length data.
struct ReclaimStrings {
  hid_t type, space;
  std::vector<char*>* data;
  ~ReclaimStrings() { H5Dvlen_reclaim(type, space, H5P_DEFAULT, data->data()); }
};

}  // namespace

void silence_library_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

std::string last_error_message() {
  std::string message;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_message, &message);
  return message;
}

hid_t check(hid_t status, const char* what, const std::string& context) {
  if (status < 0) {
    std::string message = last_error_message();
    H5Eclear2(H5E_DEFAULT);
    throw StoreError(context + ": " + what + " failed" + (message.empty() ? "" : ": " + message));
  }
  return status;
}

void Handle::close(const std::string& context) {
  if (id_ < 0 || !closer_) return;
  const herr_t status = closer_(std::exchange(id_, H5I_INVALID_HID));
  check(status, "close", context);
}

namespace {

// The latest format, which SWMR requires of the file and of every dataset in it.
Handle latest_format_access(const std::string& context) {
  Handle access(check(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate", context), H5Pclose);
  check(H5Pset_libver_bounds(access.id(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), "H5Pset_libver_bounds", context);
  return access;
}

// A SWMR writer does not keep the superblock's end-of-allocation (EOA) in step with the
// objects it writes (HDF5 says so where it lets SWMR readers read past the EOA). After a kill,
// a chunk of /tasks can therefore lie past the recorded EOA, and the next writer's first append
// into it fails ("len not positive after adjustment for EOA"): the rare exit 3 the kill
// campaign met on resume. Moving the EOA to the end of the file is what h5clear --increment=0
// does: nothing past the old EOA is lost or reused, new space is allocated after it.
void extend_allocation_to_end_of_file(const Handle& file, const std::string& path) {
  haddr_t allocated = 0;
  check(H5Fget_eoa(file.id(), &allocated), "H5Fget_eoa", path);
  std::error_code error;
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  if (error) throw StoreError(path + ": cannot read the file's size: " + error.message());
  if (size > allocated) check(H5Fincrement_filesize(file.id(), 0), "H5Fincrement_filesize", path);
}

}  // namespace

Handle create_file(const std::string& path) {
  // EXCL never clobbers a file.
  Handle access = latest_format_access(path);
  return Handle(check(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, access.id()), "creating the results file", path), H5Fclose);
}

Handle open_file(const std::string& path, bool writable, bool swmr_write) {
  Handle access = latest_format_access(path);
  if (writable) {
    // HDF5 1.10's own name for h5clear's property (public through H5Pset): a killed SWMR
    // writer leaves the superblock marked "open for writing", and without this every later
    // writable open fails ("file is already open for write"). Only msweep writes results
    // files, under OUTPUT.lock, so no live writer can hold the marks this clears.
    hbool_t clear_status_flags = true;
    check(H5Pset(access.id(), "clear_status_flags", &clear_status_flags), "H5Pset(clear_status_flags)", path);
  }
  const unsigned flags = !writable ? H5F_ACC_RDONLY | H5F_ACC_SWMR_READ : swmr_write ? H5F_ACC_RDWR | H5F_ACC_SWMR_WRITE : H5F_ACC_RDWR;
  const hid_t id = H5Fopen(path.c_str(), flags, access.id());
  if (id < 0) {
    bool locked = false;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, find_lock_failure, &locked);
    if (locked) {
      H5Eclear2(H5E_DEFAULT);
      throw FileLockedError(path + ": another process holds HDF5's lock on the file");
    }
  }
  Handle file(check(id, "opening as HDF5", path), H5Fclose);
  if (writable) extend_allocation_to_end_of_file(file, path);
  return file;
}

void start_swmr_write(const Handle& file, const std::string& context) {
  check(H5Fstart_swmr_write(file.id()), "H5Fstart_swmr_write", context);
}

void flush(const Handle& file, const std::string& context) { check(H5Fflush(file.id(), H5F_SCOPE_LOCAL), "H5Fflush", context); }

bool exists(const Handle& location, const std::string& name) {
  return H5Lexists(location.id(), name.c_str(), H5P_DEFAULT) > 0;
}

Handle create_group(const Handle& location, const std::string& name, const std::string& context) {
  return Handle(check(H5Gcreate2(location.id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2", context + ": /" + name), H5Gclose);
}

Handle open_group(const Handle& location, const std::string& name, const std::string& context) {
  if (!exists(location, name)) throw StoreError(context + ": group " + name + " is missing");
  return Handle(check(H5Gopen2(location.id(), name.c_str(), H5P_DEFAULT), "H5Gopen2", context + ": " + name), H5Gclose);
}

Handle open_dataset(const Handle& location, const std::string& name, const std::string& context) {
  if (!exists(location, name)) throw StoreError(context + ": dataset " + name + " is missing");
  return Handle(check(H5Dopen2(location.id(), name.c_str(), H5P_DEFAULT), "H5Dopen2", context + ": " + name), H5Dclose);
}

void unlink(const Handle& location, const std::string& name, const std::string& context) {
  check(H5Ldelete(location.id(), name.c_str(), H5P_DEFAULT), "H5Ldelete", context + ": " + name);
}

bool has_attribute(const Handle& object, const std::string& name) {
  return H5Aexists(object.id(), name.c_str()) > 0;
}

void write_attribute(const Handle& object, const std::string& name, const std::string& value, const std::string& context) {
  Handle type = variable_string_type(context);
  const char* pointer = value.c_str();
  write_scalar_attribute(object, name, type.id(), pointer, context);
}

void write_attribute(const Handle& object, const std::string& name, std::int64_t value, const std::string& context) {
  write_scalar_attribute(object, name, H5T_NATIVE_INT64, value, context);
}

void write_attribute(const Handle& object, const std::string& name, std::uint64_t value, const std::string& context) {
  write_scalar_attribute(object, name, H5T_NATIVE_UINT64, value, context);
}

void write_attribute(const Handle& object, const std::string& name, double value, const std::string& context) {
  write_scalar_attribute(object, name, H5T_NATIVE_DOUBLE, value, context);
}

void write_attribute(const Handle& object, const std::string& name, const std::vector<std::string>& values,
                     const std::string& context) {
  if (has_attribute(object, name)) check(H5Adelete(object.id(), name.c_str()), "H5Adelete", context);
  Handle type = variable_string_type(context);
  const hsize_t size = values.size();
  Handle space(check(H5Screate_simple(1, &size, nullptr), "H5Screate_simple", context), H5Sclose);
  Handle attribute(check(H5Acreate2(object.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2", context + ": attribute " + name), H5Aclose);
  std::vector<const char*> pointers;
  for (const auto& v : values) pointers.push_back(v.c_str());
  const char* none = nullptr;  // HDF5 rejects a null buffer even for zero elements
  check(H5Awrite(attribute.id(), type.id(), pointers.empty() ? &none : pointers.data()), "H5Awrite", context + ": attribute " + name);
}

std::string read_string_attribute(const Handle& object, const std::string& name, const std::string& context) {
  if (!has_attribute(object, name)) throw StoreError(context + ": attribute " + name + " is missing");
  Handle attribute(check(H5Aopen(object.id(), name.c_str(), H5P_DEFAULT), "H5Aopen", context + ": attribute " + name), H5Aclose);
  Handle file_type(check(H5Aget_type(attribute.id()), "H5Aget_type", context), H5Tclose);
  if (H5Tget_class(file_type.id()) != H5T_STRING) throw StoreError(context + ": attribute " + name + " is not a string");
  if (H5Tis_variable_str(file_type.id()) > 0) {
    Handle type = variable_string_type(context);
    char* value = nullptr;
    check(H5Aread(attribute.id(), type.id(), &value), "H5Aread", context + ": attribute " + name);
    std::string out = value ? value : "";
    H5free_memory(value);
    return out;
  }
  const std::size_t size = H5Tget_size(file_type.id());
  Handle type = string_type_for(false, size, context);
  std::string out(size, '\0');
  check(H5Aread(attribute.id(), type.id(), out.data()), "H5Aread", context + ": attribute " + name);
  out.resize(out.find('\0') == std::string::npos ? size : out.find('\0'));
  return out;
}

std::int64_t read_int_attribute(const Handle& object, const std::string& name, const std::string& context) {
  return read_scalar_attribute<std::int64_t>(object, name, H5T_NATIVE_INT64, context);
}

std::uint64_t read_uint_attribute(const Handle& object, const std::string& name, const std::string& context) {
  return read_scalar_attribute<std::uint64_t>(object, name, H5T_NATIVE_UINT64, context);
}

std::vector<std::string> read_string_array_attribute(const Handle& object, const std::string& name, const std::string& context) {
  if (!has_attribute(object, name)) throw StoreError(context + ": attribute " + name + " is missing");
  Handle attribute(check(H5Aopen(object.id(), name.c_str(), H5P_DEFAULT), "H5Aopen", context + ": attribute " + name), H5Aclose);
  Handle space(check(H5Aget_space(attribute.id()), "H5Aget_space", context), H5Sclose);
  const auto dims = dimensions_of(space, context);
  if (dims.size() != 1) throw StoreError(context + ": attribute " + name + " is not a 1-D array");
  if (dims[0] == 0) return {};
  Handle type = variable_string_type(context);
  std::vector<char*> raw(dims[0], nullptr);
  check(H5Aread(attribute.id(), type.id(), raw.data()), "H5Aread", context + ": attribute " + name);
  ReclaimStrings reclaim{type.id(), space.id(), &raw};
  std::vector<std::string> out;
  for (char* s : raw) out.emplace_back(s ? s : "");
  return out;
}

void write_string_dataset(const Handle& location, const std::string& name, std::uint64_t count,
                          const std::function<std::string(std::uint64_t)>& value_of, const std::string& context) {
  constexpr std::uint64_t kBlock = 65536;
  Handle type = variable_string_type(context);
  const hsize_t size = count;
  Handle space(check(H5Screate_simple(1, &size, nullptr), "H5Screate_simple", context), H5Sclose);
  Handle dataset(check(H5Dcreate2(location.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Dcreate2", context + ": " + name), H5Dclose);
  std::vector<std::string> values;
  std::vector<const char*> pointers;
  for (std::uint64_t first = 0; first < count; first += kBlock) {
    const hsize_t start = first, rows = std::min(kBlock, count - first);
    values.clear();
    pointers.clear();
    for (std::uint64_t i = first; i < first + rows; ++i) values.push_back(value_of(i));
    for (const auto& v : values) pointers.push_back(v.c_str());
    Handle memory(check(H5Screate_simple(1, &rows, nullptr), "H5Screate_simple", context), H5Sclose);
    check(H5Sselect_hyperslab(space.id(), H5S_SELECT_SET, &start, nullptr, &rows, nullptr), "H5Sselect_hyperslab", context + ": " + name);
    check(H5Dwrite(dataset.id(), type.id(), memory.id(), space.id(), H5P_DEFAULT, pointers.data()), "H5Dwrite", context + ": " + name);
  }
}

std::vector<std::string> read_string_dataset(const Handle& location, const std::string& name, const std::string& context) {
  Handle dataset = open_dataset(location, name, context);
  Handle space(check(H5Dget_space(dataset.id()), "H5Dget_space", context), H5Sclose);
  const auto dims = dimensions_of(space, context);
  if (dims.size() != 1) throw StoreError(context + ": " + name + " is not a 1-D dataset");
  Handle type = variable_string_type(context);
  std::vector<char*> raw(dims[0], nullptr);
  if (dims[0] > 0) check(H5Dread(dataset.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()), "H5Dread", context + ": " + name);
  ReclaimStrings reclaim{type.id(), space.id(), &raw};
  std::vector<std::string> out;
  for (char* s : raw) out.emplace_back(s ? s : "");
  return out;
}

Handle variable_string_type(const std::string& context) { return string_type_for(true, 0, context); }

Handle copy_type(hid_t type, const std::string& context) { return Handle(check(H5Tcopy(type), "H5Tcopy", context), H5Tclose); }

bool is_hdf5_file(const std::string& path) { return H5Fis_hdf5(path.c_str()) > 0; }

std::size_t CompoundType::size_of(Kind kind) {
  switch (kind) {
    case Kind::uint64: return sizeof(std::uint64_t);
    case Kind::uint32: return sizeof(std::uint32_t);
    case Kind::int8: return sizeof(std::int8_t);
    case Kind::int32: return sizeof(std::int32_t);
    case Kind::float64: return sizeof(double);
    case Kind::string: return sizeof(const char*);
    case Kind::text: return 0;  // sized per field (text_bytes)
  }
  throw ArgumentError("CompoundType: unknown field kind");
}

CompoundType::CompoundType(std::vector<Field> fields, const std::string& context) : fields_(std::move(fields)) {
  for (const auto& field : fields_) {
    offsets_.push_back(size_);
    value_bytes_.push_back(field.kind == Kind::text ? 0 : size_of(field.kind));
    size_ += field.kind == Kind::text ? field.text_bytes : size_of(field.kind);
  }
  type_ = Handle(check(H5Tcreate(H5T_COMPOUND, std::max<std::size_t>(size_, 1)), "H5Tcreate", context), H5Tclose);
  const Handle string_type = variable_string_type(context);
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (!fields_[i].stored) continue;
    hid_t member = string_type.id();
    Handle text_type;
    switch (fields_[i].kind) {
      case Kind::uint64: member = H5T_NATIVE_UINT64; break;
      case Kind::uint32: member = H5T_NATIVE_UINT32; break;
      case Kind::int8: member = H5T_NATIVE_INT8; break;
      case Kind::int32: member = H5T_NATIVE_INT32; break;
      case Kind::float64: member = H5T_NATIVE_DOUBLE; break;
      case Kind::string: break;
      case Kind::text:
        text_type = string_type_for(false, fields_[i].text_bytes, context);
        check(H5Tset_strpad(text_type.id(), H5T_STR_NULLPAD), "H5Tset_strpad", context);
        member = text_type.id();
        break;
    }
    check(H5Tinsert(type_.id(), fields_[i].name.c_str(), offsets_[i], member), "H5Tinsert", context + ": field " + fields_[i].name);
  }
}

void CompoundType::wrong_size() {
  throw ArgumentError("CompoundType::put/get: value: expected a field index of the type and a value of that field's size");
}

void CompoundType::put_text(unsigned char* row, std::size_t index, const std::string& value) const {
  require(index < fields_.size() && fields_[index].kind == Kind::text, "CompoundType::put_text", "index", "a text field");
  const std::size_t bytes = fields_[index].text_bytes;
  std::memset(row + offsets_[index], 0, bytes);
  std::memcpy(row + offsets_[index], value.data(), std::min(bytes, value.size()));
}

std::string CompoundType::get_text(const unsigned char* row, std::size_t index) const {
  require(index < fields_.size() && fields_[index].kind == Kind::text, "CompoundType::get_text", "index", "a text field");
  const char* begin = reinterpret_cast<const char*>(row + offsets_[index]);
  return std::string(begin, strnlen(begin, fields_[index].text_bytes));
}

void reclaim_variable_lengths(hid_t memory_type, hsize_t rows, void* data, const std::string& context) {
  if (rows == 0) return;
  Handle space(check(H5Screate_simple(1, &rows, nullptr), "H5Screate_simple", context), H5Sclose);
  check(H5Dvlen_reclaim(memory_type, space.id(), H5P_DEFAULT, data), "H5Dvlen_reclaim", context);
}

std::vector<hsize_t> dataset_shape(const Handle& dataset, const std::string& context) {
  Handle space(check(H5Dget_space(dataset.id()), "H5Dget_space", context), H5Sclose);
  return dimensions_of(space, context);
}

Handle create_extendible(const Handle& location, const std::string& name, hid_t type, std::vector<hsize_t> row_shape,
                         hsize_t chunk_rows, const std::string& context) {
  std::vector<hsize_t> dims{0}, max_dims{H5S_UNLIMITED}, chunk{chunk_rows};
  for (hsize_t d : row_shape) {
    dims.push_back(d);
    max_dims.push_back(d);
    chunk.push_back(d);
  }
  Handle space(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), max_dims.data()), "H5Screate_simple", context), H5Sclose);
  Handle properties(check(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", context), H5Pclose);
  check(H5Pset_chunk(properties.id(), static_cast<int>(chunk.size()), chunk.data()), "H5Pset_chunk", context + ": " + name);
  // No access/modification times in the object header: SWMR readers found its rewrites
  // (every append) reaching past the end of the file they knew ("actual len exceeds EOA").
  check(H5Pset_obj_track_times(properties.id(), false), "H5Pset_obj_track_times", context + ": " + name);
  return Handle(check(H5Dcreate2(location.id(), name.c_str(), type, space.id(), H5P_DEFAULT, properties.id(), H5P_DEFAULT), "H5Dcreate2", context + ": " + name), H5Dclose);
}

hsize_t row_count(const Handle& dataset, const std::string& context) {
  Handle space(check(H5Dget_space(dataset.id()), "H5Dget_space", context), H5Sclose);
  const auto dims = dimensions_of(space, context);
  return dims.empty() ? 0 : dims[0];
}

void set_extent(const Handle& dataset, hsize_t rows, const std::string& context) {
  Handle space(check(H5Dget_space(dataset.id()), "H5Dget_space", context), H5Sclose);
  auto dims = dimensions_of(space, context);
  dims[0] = rows;
  check(H5Dset_extent(dataset.id(), dims.data()), "H5Dset_extent", context);
}

TransferBuffers::TransferBuffers(std::size_t row_bytes, const std::string& context)
    : conversion_(std::max<std::size_t>(std::size_t{1} << 20, 4 * row_bytes)),
      background_(conversion_.size()),
      properties_(check(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate", context), H5Pclose) {
  check(H5Pset_buffer(properties_.id(), conversion_.size(), conversion_.data(), background_.data()), "H5Pset_buffer", context);
}

namespace {
void transfer_rows(const Handle& dataset, hid_t memory_type, hsize_t at, hsize_t rows, void* data, bool write,
                   const std::string& context, hid_t transfer = H5P_DEFAULT) {
  Handle file_space(check(H5Dget_space(dataset.id()), "H5Dget_space", context), H5Sclose);
  auto dims = dimensions_of(file_space, context);
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  start[0] = at;
  count[0] = rows;
  check(H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), "H5Sselect_hyperslab", context);
  Handle memory_space(check(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), "H5Screate_simple", context), H5Sclose);
  if (write)
    check(H5Dwrite(dataset.id(), memory_type, memory_space.id(), file_space.id(), transfer, data), "H5Dwrite", context);
  else
    check(H5Dread(dataset.id(), memory_type, memory_space.id(), file_space.id(), H5P_DEFAULT, data), "H5Dread", context);
}
}  // namespace

void overwrite_rows(const Handle& dataset, hid_t memory_type, hsize_t at, hsize_t rows, const void* data,
                    const std::string& context) {
  if (rows == 0) return;
  transfer_rows(dataset, memory_type, at, rows, const_cast<void*>(data), true, context);
}

void write_rows(const Handle& dataset, hid_t memory_type, hsize_t at, hsize_t rows, const void* data, const std::string& context,
                const TransferBuffers* buffers) {
  if (rows == 0) return;
  set_extent(dataset, at + rows, context);
  transfer_rows(dataset, memory_type, at, rows, const_cast<void*>(data), true, context, buffers ? buffers->id() : H5P_DEFAULT);
}

void read_rows(const Handle& dataset, hid_t memory_type, hsize_t at, hsize_t rows, void* data, const std::string& context) {
  if (rows == 0) return;
  transfer_rows(dataset, memory_type, at, rows, data, false, context);
}

}  // namespace msweep::h5
