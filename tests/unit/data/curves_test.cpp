// Circle and conic point images, their regressions, and the PBM/PGM reader (valid and malformed files).
#include "msweep/data/curves.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "msweep/core/error.hpp"

namespace msweep {
namespace {

TEST(CircleImage, PointsLieOnTheCirclesWithinTheJitter) {
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomStream rng(seed);
    const PointImage image = make_circle_image({}, rng);
    ASSERT_EQ(image.points.rows(), 200);
    ASSERT_EQ(image.circles.size(), 2u);
    for (Eigen::Index i = 0; i < image.points.rows(); ++i) {
      const Circle& c = image.circles[static_cast<std::size_t>(image.labels[static_cast<std::size_t>(i)])];
      const double r = std::hypot(image.points(i, 0) - c.x0, image.points(i, 1) - c.y0);
      EXPECT_LE(std::abs(r - c.r), 0.1 * std::sqrt(2.0) / 2 + 1e-12);
    }
  }
}

TEST(CircleImage, NoiseVariants) {
  RandomStream a(1), b(1), c(1);
  CircleImageOptions options;
  options.noise = ImageNoise::uniform;
  const PointImage uniform = make_circle_image(options, a);
  ASSERT_EQ(uniform.points.rows(), 400);
  int background = 0;
  for (Eigen::Index i = 0; i < uniform.points.rows(); ++i)
    if (uniform.labels[static_cast<std::size_t>(i)] == -1) {
      ++background;
      EXPECT_LE(uniform.points.row(i).cwiseAbs().maxCoeff(), 2.0);
    }
  EXPECT_EQ(background, 200);
  options.noise = ImageNoise::noisy_radius;
  options.jitter = 0.0;
  const PointImage noisy = make_circle_image(options, b);
  double spread = 0.0;
  for (Eigen::Index i = 0; i < 100; ++i) spread += std::pow(noisy.points.row(i).norm() - 0.5, 2);
  EXPECT_NEAR(std::sqrt(spread / 100), 0.1, 0.03);
  EXPECT_EQ(image_noise_from_string("noisy-radius"), ImageNoise::noisy_radius);
  EXPECT_FALSE(image_noise_from_string("loud"));
  RandomStream again(1);
  options.noise = ImageNoise::uniform;
  options.jitter = 0.1;
  EXPECT_EQ(make_circle_image(options, again).points, uniform.points);
  (void)c;
}

TEST(CircleRegression, ExactCircleIsALinearModel) {
  CircleImageOptions options;
  options.circles = {{0.3, -0.2, 0.7}};
  options.jitter = 0.0;
  RandomStream rng(3);
  const Dataset data = circle_regression(make_circle_image(options, rng).points);
  ASSERT_EQ(data.features(), 3);
  const Eigen::Vector3d w = weights_from_circle(options.circles[0]);
  EXPECT_LT((data.X * w - data.y).cwiseAbs().maxCoeff(), 1e-12);
  const Circle back = circle_from_weights(w);
  EXPECT_NEAR(back.x0, 0.3, 1e-15);
  EXPECT_NEAR(back.y0, -0.2, 1e-15);
  EXPECT_NEAR(back.r, 0.7, 1e-15);
  EXPECT_THROW(circle_from_weights(Eigen::VectorXd::Zero(2)), ArgumentError);
}

TEST(ConicImage, PointsSatisfyTheirCurve) {
  ConicImageOptions options;
  options.jitter = 0.0;
  RandomStream rng(5);
  const PointImage image = make_conic_image(options, rng);
  ASSERT_EQ(image.points.rows(), 200);
  const Dataset data = conic_regression(image.points);
  ASSERT_EQ(data.features(), 5);
  for (Eigen::Index i = 0; i < data.objects(); ++i) {
    const Eigen::VectorXd w = options.curves.row(image.labels[static_cast<std::size_t>(i)]).transpose();
    EXPECT_NEAR(data.X.row(i).dot(w), data.y(i), 1e-9);
  }
  options.curves = (Eigen::MatrixXd(1, 5) << 0, 0, 0, 0, -1).finished();  // x^2 = -1: no real points
  EXPECT_THROW(make_conic_image(options, rng), ArgumentError);
}

class ImageFile : public ::testing::Test {
 protected:
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("msweep_curves_" + std::to_string(::getpid()));
  void SetUp() override { std::filesystem::create_directories(dir); }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string write(const std::string& name, const std::string& bytes) {
    const auto path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
};

// A 3 x 2 image (width 3, height 2) with black pixels at (row 0, col 0) and (row 1, col 2).
TEST_F(ImageFile, AllFormatsGiveTheSamePoints) {
  const std::string p1 = write("a.pbm", "P1\n# comment\n3 2\n1 0 0\n0 0 1\n");
  const std::string p4 = write("b.pbm", std::string("P4\n3 2\n") + static_cast<char>(0x80) + static_cast<char>(0x20));
  const std::string p2 = write("c.pgm", "P2\n3 2\n255\n0 255 200\n255 128 10\n");
  const std::string p5 = write("d.pgm", std::string("P5\n3 2\n255\n") + '\0' + "\xff\xc8\xff\x80\x0a");
  const PointImage reference = read_image_points(p1, 1.0);
  ASSERT_EQ(reference.points.rows(), 2);
  EXPECT_EQ(reference.points(0, 0), -1.0);  // col 0 -> x = 0 - 1
  EXPECT_EQ(reference.points(0, 1), 0.5);   // row 0 -> y = 0.5
  EXPECT_EQ(reference.points(1, 0), 1.0);
  EXPECT_EQ(reference.points(1, 1), -0.5);
  for (const auto& path : {p4, p2, p5}) {
    SCOPED_TRACE(path);
    EXPECT_EQ(read_image_points(path, 1.0).points, reference.points);
  }
  EXPECT_NEAR(read_image_points(p1).points(0, 0), -4.0 / 3.0, 1e-15);  // default scale 4 / max(w, h)
}

TEST_F(ImageFile, MalformedFilesNameThePath) {
  const std::vector<std::string> bad = {
      write("magic.pgm", "P3\n1 1\n255\n0 0 0\n"),  write("short.pbm", "P1\n3 2\n1 0 0\n"),
      write("width.pgm", "P2\nx 2\n255\n"),          write("maxval.pgm", "P2\n1 1\n255\n300\n"),
      write("binary.pgm", "P5\n4 4\n255\n\x01\x02"), write("white.pbm", "P1\n2 1\n0 0\n"),
      write("header.pbm", "P1\n"),
  };
  for (const auto& path : bad) {
    SCOPED_TRACE(path);
    try {
      read_image_points(path);
      ADD_FAILURE() << "expected InputError";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(read_image_points((dir / "absent.pbm").string()), InputError);
}

// A short file whose header claims the largest image is refused before the pixels are
// allocated (a 22-byte P5 file once took 2 GB: tests/fuzz, image target; corpus/image/regression-*).
TEST_F(ImageFile, HeaderLargerThanTheFileIsRefusedBeforeAllocating) {
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"p5.pgm", "P5\n32768 32768\n65535\n\x01\x02"}, {"p2.pgm", "P2\n32768 32768\n255\n1 2 3\n"},
           {"p4.pbm", "P4\n32768 32768\n\xff"}, {"p1.pbm", "P1\n32768 32768\n1 0 1\n"}}) {
    SCOPED_TRACE(name);
    try {
      read_image_points(write(name, text));
      ADD_FAILURE() << "expected InputError";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("image data end early (expected 32768 x 32768 pixels)"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace msweep
