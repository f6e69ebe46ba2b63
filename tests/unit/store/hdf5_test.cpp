// The checked HDF5 layer (store/hdf5.cpp): CompoundType's packed layout, its use for writing
// and reading rows (with and without a string field), and the checked shape query.
#include "msweep/store/hdf5.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "msweep/core/error.hpp"
#include "store_fixture.hpp"

namespace msweep {
namespace {

using Kind = h5::CompoundType::Kind;

class Hdf5Test : public StoreFixture {};

TEST_F(Hdf5Test, CompoundFieldsArePackedInOrder) {
  const h5::CompoundType type({{"id", Kind::uint64}, {"flag", Kind::int8}, {"note", Kind::string}, {"x", Kind::float64},
                               {"n", Kind::uint32}, {"r", Kind::int32}},
                              "test");
  ASSERT_EQ(type.field_count(), 6u);
  EXPECT_EQ(type.offset(0), 0u);
  EXPECT_EQ(type.offset(1), 8u);
  EXPECT_EQ(type.offset(2), 9u);
  EXPECT_EQ(type.offset(3), 9u + sizeof(const char*));
  EXPECT_EQ(type.size(), 9u + sizeof(const char*) + 8 + 4 + 4);
  EXPECT_EQ(H5Tget_size(type.id()), type.size());
  EXPECT_EQ(H5Tget_nmembers(type.id()), 6);
  EXPECT_EQ(H5Tget_member_offset(type.id(), 3), type.offset(3));

  std::vector<unsigned char> row(type.size());
  type.put(row.data(), 3, 2.5);
  EXPECT_EQ(type.get<double>(row.data(), 3), 2.5);
  EXPECT_THROW(type.put(row.data(), 3, std::int32_t{1}), ArgumentError);  // wrong size for the field
  EXPECT_THROW(type.get<double>(row.data(), 6), ArgumentError);           // no such field
}

TEST_F(Hdf5Test, DuplicateFieldNamesAreRefusedWithContext) {
  h5::silence_library_errors();
  try {
    h5::CompoundType({{"a", Kind::uint64}, {"a", Kind::float64}}, "ctx");
    FAIL() << "expected StoreError";
  } catch (const StoreError& error) {
    EXPECT_EQ(std::string(error.what()).rfind("ctx: field a: H5Tinsert failed", 0), 0u) << error.what();
  }
}

TEST_F(Hdf5Test, RowsRoundTripAndAFieldLeftOutIsSkipped) {
  h5::silence_library_errors();
  const std::string file_path = path("c.h5");
  const h5::CompoundType full({{"id", Kind::uint64}, {"note", Kind::string}, {"x", Kind::float64}}, "full");
  const h5::CompoundType without_note({{"id", Kind::uint64}, {"note", Kind::string, false}, {"x", Kind::float64}}, "lean");
  EXPECT_EQ(without_note.size(), full.size());  // the left-out field keeps its room
  EXPECT_EQ(H5Tget_nmembers(without_note.id()), 2);

  const std::vector<std::string> notes = {"first", "second", ""};
  std::vector<unsigned char> rows(3 * full.size());
  for (std::size_t r = 0; r < 3; ++r) {
    unsigned char* row = rows.data() + r * full.size();
    full.put(row, 0, std::uint64_t{10 + r});
    full.put(row, 1, notes[r].c_str());
    full.put(row, 2, 0.5 * static_cast<double>(r));
  }
  {
    h5::Handle file = h5::create_file(file_path);
    h5::Handle dataset = h5::create_extendible(file, "rows", full.id(), {}, 16, "test");
    h5::write_rows(dataset, full.id(), 0, 3, rows.data(), "test");
    EXPECT_EQ(h5::dataset_shape(dataset, "test"), (std::vector<hsize_t>{3}));
    file.close("test");
  }
  h5::Handle file = h5::open_file(file_path, false);
  h5::Handle dataset = h5::open_dataset(file, "rows", "test");
  std::vector<unsigned char> back(3 * full.size(), 0);
  h5::read_rows(dataset, full.id(), 0, 3, back.data(), "test");
  for (std::size_t r = 0; r < 3; ++r) {
    const unsigned char* row = back.data() + r * full.size();
    EXPECT_EQ(full.get<std::uint64_t>(row, 0), 10 + r);
    EXPECT_EQ(std::string(full.get<const char*>(row, 1)), notes[r]);
    EXPECT_EQ(full.get<double>(row, 2), 0.5 * static_cast<double>(r));
  }
  h5::reclaim_variable_lengths(full.id(), 3, back.data(), "test");

  std::vector<unsigned char> lean(3 * without_note.size(), 0);
  h5::read_rows(dataset, without_note.id(), 0, 3, lean.data(), "test");
  EXPECT_EQ(without_note.get<std::uint64_t>(lean.data() + 2 * without_note.size(), 0), 12u);
  EXPECT_EQ(without_note.get<const char*>(lean.data(), 1), nullptr);  // not read, nothing allocated
  EXPECT_EQ(without_note.get<double>(lean.data() + without_note.size(), 2), 0.5);
}

// The writer converts every flush's rows through the same TransferBuffers. What an earlier
// write left in them must not leak into a later one: HDF5 takes the old value of each
// variable-length string from the background buffer and frees its heap object, so stale
// contents there would delete the strings of rows already written.
TEST_F(Hdf5Test, RowsWrittenThroughKeptTransferBuffersStayIntact) {
  h5::silence_library_errors();
  const std::string file_path = path("buffers.h5");
  const h5::CompoundType type({{"id", Kind::uint64}, {"note", Kind::string}}, "buffers");
  const std::vector<std::string> notes = {"first", "second", "", "", "fifth", "", "", "", "ninth"};  // "" as a null string
  std::vector<unsigned char> rows(notes.size() * type.size());
  for (std::size_t r = 0; r < notes.size(); ++r) {
    type.put(rows.data() + r * type.size(), 0, std::uint64_t{r});
    type.put(rows.data() + r * type.size(), 1, notes[r].empty() ? nullptr : notes[r].c_str());
  }
  {
    h5::Handle file = h5::create_file(file_path);
    h5::Handle dataset = h5::create_extendible(file, "rows", type.id(), {}, 4, "test");
    const h5::TransferBuffers buffers(type.size(), "test");
    for (hsize_t at = 0; at < notes.size(); at += 3)
      h5::write_rows(dataset, type.id(), at, 3, rows.data() + at * type.size(), "test", &buffers);
    file.close("test");
  }
  h5::Handle file = h5::open_file(file_path, false);
  std::vector<unsigned char> back(rows.size(), 0);
  h5::read_rows(h5::open_dataset(file, "rows", "test"), type.id(), 0, notes.size(), back.data(), "test");
  for (std::size_t r = 0; r < notes.size(); ++r) {
    const unsigned char* row = back.data() + r * type.size();
    EXPECT_EQ(type.get<std::uint64_t>(row, 0), r);
    const char* note = type.get<const char*>(row, 1);
    EXPECT_EQ(note ? std::string(note) : std::string(), notes[r]) << "row " << r;
  }
  h5::reclaim_variable_lengths(type.id(), notes.size(), back.data(), "test");
}

TEST(CompoundType, TextFieldsAreFixedLengthNulPaddedAndCutToTheirSize) {
  h5::silence_library_errors();
  const std::string file_path = (std::filesystem::temp_directory_path() / ("msweep_text_" + std::to_string(::getpid()) + ".h5")).string();
  std::filesystem::remove(file_path);
  const h5::CompoundType type({{"n", Kind::uint64}, {"word", Kind::text, true, 8}, {"x", Kind::float64}}, "text");
  EXPECT_EQ(type.size(), 8u + 8u + 8u);
  std::vector<unsigned char> rows(2 * type.size());
  type.put(rows.data(), 0, std::uint64_t{7});
  type.put_text(rows.data(), 1, "running");
  type.put_text(rows.data() + type.size(), 1, "interrupted");  // longer than 8 bytes: cut
  EXPECT_THROW(type.put(rows.data(), 1, 1.0), ArgumentError);  // a text field takes text only
  {
    h5::Handle file = h5::create_file(file_path);
    h5::Handle dataset = h5::create_extendible(file, "rows", type.id(), {}, 4, "test");
    h5::write_rows(dataset, type.id(), 0, 2, rows.data(), "test");
  }
  h5::Handle file = h5::open_file(file_path, false);
  std::vector<unsigned char> back(rows.size());
  h5::read_rows(h5::open_dataset(file, "rows", "test"), type.id(), 0, 2, back.data(), "test");
  EXPECT_EQ(type.get_text(back.data(), 1), "running");
  EXPECT_EQ(type.get_text(back.data() + type.size(), 1), "interrup");
  EXPECT_EQ(type.get<std::uint64_t>(back.data(), 0), 7u);
  file.reset();
  std::filesystem::remove(file_path);
}

// A killed SWMR writer can leave objects past the superblock's end-of-allocation (EOA); a
// writable open moves the EOA to the end of the file (h5clear --increment=0), so the next
// append cannot fail on it. Bytes past the EOA are made here by growing the file by hand.
TEST_F(Hdf5Test, AWritableOpenAllocatesUpToTheEndOfTheFile) {
  h5::silence_library_errors();
  const std::string file_path = path("eoa.h5");
  const h5::CompoundType type({{"id", Kind::uint64}, {"x", Kind::float64}}, "eoa");
  std::vector<unsigned char> rows(4 * type.size(), 0);
  for (std::uint64_t r = 0; r < 4; ++r) type.put(rows.data() + r * type.size(), 0, r);
  {
    h5::Handle file = h5::create_file(file_path);
    h5::Handle dataset = h5::create_extendible(file, "rows", type.id(), {}, 2, "test");
    h5::write_rows(dataset, type.id(), 0, 2, rows.data(), "test");
  }
  for (const bool swmr : {false, true}) {
    std::filesystem::resize_file(file_path, std::filesystem::file_size(file_path) + 4096);
    const auto grown = std::filesystem::file_size(file_path);
    {
      const h5::Handle read_only = h5::open_file(file_path, false);
      haddr_t allocated = 0;
      ASSERT_GE(H5Fget_eoa(read_only.id(), &allocated), 0);
      EXPECT_LT(allocated, grown) << "the test needs bytes past the EOA";
    }
    h5::Handle file = h5::open_file(file_path, true, swmr);
    haddr_t allocated = 0;
    ASSERT_GE(H5Fget_eoa(file.id(), &allocated), 0);
    EXPECT_EQ(allocated, grown) << (swmr ? "SWMR write" : "plain write");
    h5::Handle dataset = h5::open_dataset(file, "rows", "test");
    const hsize_t stored = h5::dataset_shape(dataset, "test")[0];
    h5::write_rows(dataset, type.id(), stored, 1, rows.data() + stored * type.size(), "test");
  }
  h5::Handle file = h5::open_file(file_path, false);
  h5::Handle dataset = h5::open_dataset(file, "rows", "test");
  ASSERT_EQ(h5::dataset_shape(dataset, "test"), (std::vector<hsize_t>{4}));
  std::vector<unsigned char> back(4 * type.size());
  h5::read_rows(dataset, type.id(), 0, 4, back.data(), "test");
  for (std::uint64_t r = 0; r < 4; ++r) EXPECT_EQ(type.get<std::uint64_t>(back.data() + r * type.size(), 0), r);
  std::filesystem::remove(file_path);
}

}  // namespace
}  // namespace msweep
