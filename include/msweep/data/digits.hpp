// The 8x8 handwritten digits (UCI optdigits, as shipped by Debian's python3-sklearn in
// sklearn/datasets/data/digits.csv.gz): 1797 images, 64 pixel counts 0..16 per row, then the
// digit 0..9. Read through zlib; no header line.
#pragma once
#include <string>
#include <vector>

#include "msweep/data/dataset.hpp"

namespace msweep {

// Path of digits.csv.gz; throws InputError naming the Debian package when it is absent.
std::string digits_csv_path();

// Reads `path` (gzip CSV, 65 numeric fields a line: 64 pixels then the digit). Keeps the rows
// whose digit is in `classes` (empty: all ten) and sets y to the digit's position in `classes`
// (so classes = {3, 8} gives a 0/1 target; empty keeps the digit itself), rows in file order.
// Throws InputError naming the file and line for a malformed line, ArgumentError for classes
// outside 0..9 or repeated.
Dataset load_digits_file(const std::string& path, const std::vector<int>& classes);
inline Dataset load_digits(const std::vector<int>& classes) { return load_digits_file(digits_csv_path(), classes); }

}  // namespace msweep
