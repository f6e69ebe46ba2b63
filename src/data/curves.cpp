// Circle and conic point images with known truth, their regressions, and a PBM/PGM reader.
#include "msweep/data/curves.hpp"

#include <cctype>
#include <cstdint>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>

#include "msweep/core/error.hpp"
#include "msweep/data/loaders.hpp"

namespace msweep {
namespace {

struct PointBuilder {
  std::vector<double> xs, ys;
  std::vector<int> labels;
  void add(double x, double y, int label) {
    xs.push_back(x);
    ys.push_back(y);
    labels.push_back(label);
  }
  void finish(PointImage& image) const {
    image.points.resize(static_cast<Eigen::Index>(xs.size()), 2);
    for (std::size_t i = 0; i < xs.size(); ++i) {
      image.points(static_cast<Eigen::Index>(i), 0) = xs[i];
      image.points(static_cast<Eigen::Index>(i), 1) = ys[i];
    }
    image.labels = labels;
  }
};

void add_uniform(PointBuilder& builder, int count, double half_width, RandomStream& rng) {
  for (int i = 0; i < count; ++i) {
    const double x = rng.uniform(-half_width, half_width);
    builder.add(x, rng.uniform(-half_width, half_width), -1);
  }
}

// Reads the next header token of a PNM file, skipping whitespace and # comments.
std::string next_token(std::istream& in, const std::string& path) {
  std::string token;
  int c;
  while ((c = in.get()) != EOF) {
    if (c == '#') {
      while ((c = in.get()) != EOF && c != '\n') {
      }
      continue;
    }
    if (std::isspace(c)) {
      if (!token.empty()) return token;
      continue;
    }
    token += static_cast<char>(c);
  }
  if (token.empty()) throw InputError(path + ": truncated image header");
  return token;
}

long header_number(std::istream& in, const std::string& path, const char* what, long max) {
  const std::string token = next_token(in, path);
  long value = 0;
  for (char c : token) {
    if (!std::isdigit(static_cast<unsigned char>(c))) throw InputError(path + ": image " + what + " is not a number: \"" + token + "\"");
    value = value * 10 + (c - '0');
    if (value > max) throw InputError(path + ": image " + what + " " + token + " is larger than " + std::to_string(max));
  }
  if (value < 1) throw InputError(path + ": image " + what + " must be positive, got " + token);
  return value;
}

}  // namespace

const char* to_string(ImageNoise noise) {
  switch (noise) {
    case ImageNoise::none: return "none";
    case ImageNoise::noisy_radius: return "noisy-radius";
    case ImageNoise::uniform: return "uniform";
  }
  return "unknown";
}

std::optional<ImageNoise> image_noise_from_string(const std::string& name) {
  for (auto noise : {ImageNoise::none, ImageNoise::noisy_radius, ImageNoise::uniform})
    if (name == to_string(noise)) return noise;
  return std::nullopt;
}

PointImage make_circle_image(const CircleImageOptions& options, RandomStream& rng) {
  const char* fn = "make_circle_image";
  require(options.points_per_circle >= 1, fn, "options.points_per_circle", "at least 1");
  require(options.jitter >= 0 && options.radius_noise >= 0, fn, "options.jitter, options.radius_noise", "non-negative");
  require(options.uniform_points >= 0 && options.half_width > 0, fn, "options.uniform_points, options.half_width",
          "a non-negative count and a positive half width");
  for (const auto& c : options.circles) require(c.r > 0, fn, "options.circles", "positive radii");
  PointBuilder builder;
  for (std::size_t t = 0; t < options.circles.size(); ++t) {
    const Circle& c = options.circles[t];
    for (int i = 0; i < options.points_per_circle; ++i) {
      const double angle = rng.uniform(0.0, 2.0 * std::numbers::pi);
      double r = c.r;
      if (options.noise == ImageNoise::noisy_radius) r += options.radius_noise * rng.normal();
      const double jx = options.jitter * (rng.uniform() - 0.5), jy = options.jitter * (rng.uniform() - 0.5);
      builder.add(c.x0 + r * std::cos(angle) + jx, c.y0 + r * std::sin(angle) + jy, static_cast<int>(t));
    }
  }
  if (options.noise == ImageNoise::uniform) add_uniform(builder, options.uniform_points, options.half_width, rng);
  PointImage image;
  builder.finish(image);
  image.circles = options.circles;
  image.description = std::string("circles, noise ") + to_string(options.noise);
  return image;
}

PointImage make_conic_image(const ConicImageOptions& options, RandomStream& rng) {
  const char* fn = "make_conic_image";
  require(options.curves.cols() == 5, fn, "options.curves", "5 coefficients per row");
  require(options.points_per_curve >= 1 && options.y_half_range > 0, fn, "options.points_per_curve, options.y_half_range",
          "a positive count and range");
  require(options.jitter >= 0 && options.curve_noise >= 0, fn, "options.jitter, options.curve_noise", "non-negative");
  require(options.uniform_points >= 0 && options.half_width > 0, fn, "options.uniform_points, options.half_width",
          "a non-negative count and a positive half width");
  PointBuilder builder;
  for (Eigen::Index t = 0; t < options.curves.rows(); ++t) {
    const double a = options.curves(t, 0), b = options.curves(t, 1), c = options.curves(t, 2), d = options.curves(t, 3),
                 e = options.curves(t, 4);
    int drawn = 0;
    const long budget = 10000L * options.points_per_curve;
    for (long attempt = 0; drawn < options.points_per_curve; ++attempt) {
      require(attempt < budget, fn, "options.curves", "curves with real points for y in [-y_half_range, y_half_range]");
      // x^2 - (a y + c) x - (b y^2 + d y + e) = 0.
      const double y = rng.uniform(-options.y_half_range, options.y_half_range);
      const double p = a * y + c, q = b * y * y + d * y + e;
      const double discriminant = p * p + 4.0 * q;
      if (discriminant < 0) continue;
      const double x = 0.5 * (p + (rng.uniform() < 0.5 ? -1.0 : 1.0) * std::sqrt(discriminant));
      double px = x, py = y;
      if (options.noise == ImageNoise::noisy_radius) {
        px += options.curve_noise * rng.normal();
        py += options.curve_noise * rng.normal();
      }
      px += options.jitter * (rng.uniform() - 0.5);
      py += options.jitter * (rng.uniform() - 0.5);
      builder.add(px, py, static_cast<int>(t));
      ++drawn;
    }
  }
  if (options.noise == ImageNoise::uniform) add_uniform(builder, options.uniform_points, options.half_width, rng);
  PointImage image;
  builder.finish(image);
  image.conics = options.curves;
  image.description = std::string("second-order curves, noise ") + to_string(options.noise);
  return image;
}

Dataset circle_regression(const Eigen::Ref<const Eigen::MatrixXd>& points) {
  require(points.cols() == 2, "circle_regression", "points", "two columns (x, y)");
  Dataset data;
  const Eigen::Index n = points.rows();
  data.X.resize(n, 3);
  data.X << points.col(0), points.col(1), Eigen::VectorXd::Ones(n);
  data.y = points.rowwise().squaredNorm();
  data.feature_names = {"x", "y", "1"};
  data.target_name = "x^2+y^2";
  data.description = "circle regression";
  return data;
}

Dataset conic_regression(const Eigen::Ref<const Eigen::MatrixXd>& points) {
  require(points.cols() == 2, "conic_regression", "points", "two columns (x, y)");
  Dataset data;
  const Eigen::Index n = points.rows();
  const Eigen::ArrayXd x = points.col(0).array(), y = points.col(1).array();
  data.X.resize(n, 5);
  data.X << (x * y).matrix(), y.square().matrix(), x.matrix(), y.matrix(), Eigen::VectorXd::Ones(n);
  data.y = x.square().matrix();
  data.feature_names = {"xy", "y^2", "x", "y", "1"};
  data.target_name = "x^2";
  data.description = "second-order curve regression";
  return data;
}

Circle circle_from_weights(const Eigen::Ref<const Eigen::VectorXd>& w) {
  require(w.size() == 3, "circle_from_weights", "w", "3 weights [2 x0, 2 y0, r^2 - x0^2 - y0^2]");
  Circle c;
  c.x0 = 0.5 * w(0);
  c.y0 = 0.5 * w(1);
  c.r = std::sqrt(std::max(0.0, w(2) + c.x0 * c.x0 + c.y0 * c.y0));
  return c;
}

Eigen::Vector3d weights_from_circle(const Circle& circle) {
  return {2.0 * circle.x0, 2.0 * circle.y0, circle.r * circle.r - circle.x0 * circle.x0 - circle.y0 * circle.y0};
}

PointImage read_image_points(const std::string& path, double scale) {
  require_regular_file(path, "image file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot read the image file (permission denied?)");
  char magic[2] = {0, 0};
  in.read(magic, 2);
  if (!in || magic[0] != 'P' || (magic[1] != '1' && magic[1] != '2' && magic[1] != '4' && magic[1] != '5'))
    throw InputError(path + ": not a PBM/PGM image (expected magic P1, P2, P4 or P5)");
  const char kind = magic[1];
  const bool bitmap = kind == '1' || kind == '4';
  constexpr long kMaxSide = 1L << 15;
  const long width = header_number(in, path, "width", kMaxSide), height = header_number(in, path, "height", kMaxSide);
  const long maxval = bitmap ? 1 : header_number(in, path, "maxval", 65535);
  // After the last header token exactly one whitespace byte was consumed; binary data follow.

  auto truncated = [&]() { return InputError(path + ": image data end early (expected " + std::to_string(width) + " x " + std::to_string(height) + " pixels)"); };
  // The fewest bytes the pixel data can take (a plain PBM pixel is one digit, a plain PGM one
  // is a digit and a separator), checked before allocating: a 22-byte header claiming
  // 32768 x 32768 16-bit pixels once allocated 2 GB (found by tests/fuzz, image target).
  const auto pixels = static_cast<std::uintmax_t>(width) * static_cast<std::uintmax_t>(height);
  const std::uintmax_t least_bytes = kind == '1' ? pixels
                                     : kind == '2' ? 2 * pixels - 1
                                     : kind == '4' ? static_cast<std::uintmax_t>(height) * static_cast<std::uintmax_t>((width + 7) / 8)
                                                   : pixels * (maxval < 256 ? 1 : 2);
  const auto at = in.tellg();
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec || at < 0 || size - static_cast<std::uintmax_t>(at) < least_bytes) throw truncated();
  std::vector<bool> black(static_cast<std::size_t>(pixels));
  if (kind == '1') {
    for (std::size_t p = 0; p < black.size();) {
      const int c = in.get();
      if (c == EOF) throw truncated();
      if (c == '#') {
        while (in.get() != '\n' && in) {
        }
      } else if (c == '0' || c == '1') {
        black[p++] = c == '1';
      } else if (!std::isspace(c)) {
        throw InputError(path + ": unexpected character '" + std::string(1, static_cast<char>(c)) + "' in P1 pixel data");
      }
    }
  } else if (kind == '4') {
    const long row_bytes = (width + 7) / 8;
    std::vector<unsigned char> row(static_cast<std::size_t>(row_bytes));
    for (long r = 0; r < height; ++r) {
      in.read(reinterpret_cast<char*>(row.data()), row_bytes);
      if (in.gcount() != row_bytes) throw truncated();
      for (long c = 0; c < width; ++c) black[static_cast<std::size_t>(r * width + c)] = (row[static_cast<std::size_t>(c / 8)] >> (7 - c % 8)) & 1U;
    }
  } else if (kind == '2') {
    for (auto&& pixel : black) {
      std::string token;
      try {
        token = next_token(in, path);
      } catch (const InputError&) {
        throw truncated();
      }
      long value = 0;
      for (char c : token) {
        if (!std::isdigit(static_cast<unsigned char>(c))) throw InputError(path + ": pixel value is not a number: \"" + token + "\"");
        value = std::min(value * 10 + (c - '0'), 1L << 30);
      }
      if (value > maxval) throw InputError(path + ": pixel value " + token + " exceeds maxval " + std::to_string(maxval));
      pixel = 2 * value < maxval;
    }
  } else {
    const int bytes = maxval < 256 ? 1 : 2;
    std::vector<unsigned char> data(black.size() * static_cast<std::size_t>(bytes));
    in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (static_cast<std::size_t>(in.gcount()) != data.size()) throw truncated();
    for (std::size_t p = 0; p < black.size(); ++p) {
      const long value = bytes == 1 ? data[p] : (long{data[2 * p]} << 8 | data[2 * p + 1]);
      if (value > maxval) throw InputError(path + ": pixel value " + std::to_string(value) + " exceeds maxval " + std::to_string(maxval));
      black[p] = 2 * value < maxval;
    }
  }

  if (scale <= 0.0) scale = 4.0 / static_cast<double>(std::max(width, height));
  PointBuilder builder;
  for (long r = 0; r < height; ++r)
    for (long c = 0; c < width; ++c)
      if (black[static_cast<std::size_t>(r * width + c)])
        builder.add((static_cast<double>(c) - 0.5 * static_cast<double>(width - 1)) * scale,
                    (0.5 * static_cast<double>(height - 1) - static_cast<double>(r)) * scale, -1);
  PointImage image;
  builder.finish(image);
  if (image.points.rows() == 0) throw InputError(path + ": the image has no black pixels");
  image.description = "black pixels of " + path;
  return image;
}

}  // namespace msweep
