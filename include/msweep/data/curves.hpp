// Point sets for multimodel curve detection (docs/science.md#curve-detection-and-the-score-s): binary images of circles and
// of general second-order curves with known truth, the regressions that turn black points into
// linear models, and black pixels read from a PGM/PBM image a user supplies.
//
// Circle: X = [x, y, 1], target x^2 + y^2, w = [2 x0, 2 y0, r^2 - x0^2 - y0^2].
// Conic:  X = [x y, y^2, x, y, 1], target x^2, i.e. x^2 = a x y + b y^2 + c x + d y + e.
#pragma once
#include <Eigen/Dense>
#include <optional>
#include <string>
#include <vector>

#include "msweep/core/random.hpp"
#include "msweep/data/dataset.hpp"

namespace msweep {

struct Circle {
  double x0 = 0.0, y0 = 0.0, r = 1.0;
};

enum class ImageNoise {
  none,          // points on the curves, jittered to the pixel grid only
  noisy_radius,  // plus a per-point perturbation near the curve (radius for circles, isotropic for conics)
  uniform,       // plus uniform points over the square [-half_width, half_width]^2
};
const char* to_string(ImageNoise noise);                          // "none", "noisy-radius", "uniform"
std::optional<ImageNoise> image_noise_from_string(const std::string& name);

struct CircleImageOptions {
  std::vector<Circle> circles = {{0.0, 0.0, 0.5}, {0.0, 0.0, 1.5}};  // two concentric circles at the origin
  int points_per_circle = 100;
  double jitter = 0.1;          // each coordinate moves by U(-jitter/2, jitter/2): the pixel size
  ImageNoise noise = ImageNoise::none;
  double radius_noise = 0.1;    // noisy_radius: standard deviation of the per-point radius perturbation
  int uniform_points = 200;     // uniform: how many background points
  double half_width = 2.0;      // uniform: the square's half width
};

struct ConicImageOptions {
  // One row per curve, coefficients [a, b, c, d, e] of x^2 = a x y + b y^2 + c x + d y + e.
  // Default: the ellipse x^2 + 4 y^2 = 4 and the parabola x^2 = 2 y.
  Eigen::MatrixXd curves = (Eigen::MatrixXd(2, 5) << 0, -4, 0, 0, 4, 0, 0, 0, 2, 0).finished();
  int points_per_curve = 100;
  double y_half_range = 2.0;    // y is drawn in [-y_half_range, y_half_range], x solved from the curve
  double jitter = 0.1;          // as for circles
  ImageNoise noise = ImageNoise::none;
  double curve_noise = 0.1;     // noisy_radius: standard deviation of an isotropic displacement
  int uniform_points = 200;
  double half_width = 2.0;
};

// Black points with their provenance: which true curve drew each point (-1: background noise).
struct PointImage {
  Eigen::MatrixXd points;       // N x 2, columns x and y
  std::vector<int> labels;      // N entries
  std::vector<Circle> circles;  // the true circles (circle images)
  Eigen::MatrixXd conics;       // the true conic coefficients, one row per curve (conic images)
  std::string description;
};

// Points on each circle at uniform angles, then the noise variant. Deterministic given rng.
PointImage make_circle_image(const CircleImageOptions& options, RandomStream& rng);
// Points on each conic: y uniform in range (redrawn where no real x exists), x one of the two roots.
// Throws ArgumentError when a curve has no real points over the y range.
PointImage make_conic_image(const ConicImageOptions& options, RandomStream& rng);

// The circle regression X = [x, y, 1], target x^2 + y^2 (docs/science.md#curve-detection-and-the-score-s).
Dataset circle_regression(const Eigen::Ref<const Eigen::MatrixXd>& points);
// The conic regression X = [x y, y^2, x, y, 1], target x^2.
Dataset conic_regression(const Eigen::Ref<const Eigen::MatrixXd>& points);

// x0 = w1 / 2, y0 = w2 / 2, r = sqrt(w3 + x0^2 + y0^2) (r = 0 when the square would be negative).
Circle circle_from_weights(const Eigen::Ref<const Eigen::VectorXd>& w);
Eigen::Vector3d weights_from_circle(const Circle& circle);

// Black pixels of a PBM (P1, P4) or PGM (P2, P5) image as points: pixel (row, col) becomes
// x = (col - (width - 1) / 2) * scale, y = ((height - 1) / 2 - row) * scale (y points up).
// PBM: bit 1 is black; PGM: values below half of maxval are black. scale <= 0 picks
// 4 / max(width, height), so the image spans [-2, 2]. Throws InputError naming the path.
PointImage read_image_points(const std::string& path, double scale = 0.0);

}  // namespace msweep
