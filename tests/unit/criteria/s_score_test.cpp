// s-score: the properties in docs/science.md (the s-score) for the Gaussian closed form and the
// numerical one-dimensional version, similarity matrices, expert reduction (a fitted mixture's
// similarity matrix is tested in experiments/mixture_em_test.cpp, above the models layer).
#include "msweep/criteria/s_score.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "msweep/core/error.hpp"
#include "msweep/core/random.hpp"

namespace msweep {
namespace {

auto uniform_density(double low, double high) {
  return [=](double w) { return w >= low && w <= high ? 1.0 / (high - low) : 0.0; };
}

auto normal_density(double mean, double sd) {
  return [=](double w) { return std::exp(-0.5 * (w - mean) * (w - mean) / (sd * sd)) / (sd * std::sqrt(2 * std::numbers::pi)); };
}

GaussianPosterior random_gaussian(RandomStream& rng, int d) {
  GaussianPosterior g;
  g.mean = Eigen::VectorXd(d);
  Eigen::MatrixXd L(d, d);
  for (int i = 0; i < d; ++i) g.mean(i) = 2.0 * rng.normal();
  for (int i = 0; i < d * d; ++i) L.data()[i] = rng.normal();
  g.covariance = L * L.transpose() + 0.1 * Eigen::MatrixXd::Identity(d, d);
  return g;
}

TEST(SScore, UniformExamples) {
  EXPECT_NEAR(s_score_numeric(uniform_density(0, 1), uniform_density(0.5, 1.5), -1, 3), 0.5, 2e-3);
  EXPECT_NEAR(s_score_numeric(uniform_density(0, 1), uniform_density(0, 1), -1, 3), 1.0, 1e-12);
  // Disjoint supports are defined and give zero.
  EXPECT_EQ(s_score_numeric(uniform_density(0, 1), uniform_density(2, 2.5), -1, 3), 0.0);
}

TEST(SScore, NumericMatchesGaussianClosedForm) {
  for (double gap : {0.0, 0.5, 1.0, 2.0}) {
    SCOPED_TRACE("gap " + std::to_string(gap));
    const double numeric = s_score_numeric(normal_density(0, 0.6), normal_density(gap, 0.8), -8, 10, 3000);
    const double closed = s_score_gaussian(Eigen::VectorXd::Constant(1, 0.0), Eigen::MatrixXd::Constant(1, 1, 0.36),
                                           Eigen::VectorXd::Constant(1, gap), Eigen::MatrixXd::Constant(1, 1, 0.64));
    EXPECT_NEAR(numeric, closed, 2e-3);
  }
}

TEST(SScore, GaussianPropertiesOverManySeeds) {
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomStream rng(seed);
    const int d = 1 + static_cast<int>(seed % 4);
    const auto a = random_gaussian(rng, d), b = random_gaussian(rng, d);
    const double s = s_score(a, b);
    EXPECT_GE(s, 0.0);
    EXPECT_LE(s, 1.0);
    EXPECT_DOUBLE_EQ(s, s_score(b, a));
    EXPECT_DOUBLE_EQ(s_score(a, a), 1.0);
    // An uninformative posterior (covariance 1e8 I) is similar to anything.
    GaussianPosterior flat{Eigen::VectorXd::Zero(d), 1e8 * Eigen::MatrixXd::Identity(d, d)};
    EXPECT_GT(s_score(a, flat), 0.999);
  }
}

TEST(SScore, NumericSymmetricAndBounded) {
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomStream rng(seed);
    const double m1 = rng.uniform(-1, 1), m2 = rng.uniform(-1, 1), s1 = rng.uniform(0.2, 1), s2 = rng.uniform(0.2, 1);
    const double ab = s_score_numeric(normal_density(m1, s1), uniform_density(m2, m2 + s2), -6, 6, 1200);
    const double ba = s_score_numeric(uniform_density(m2, m2 + s2), normal_density(m1, s1), -6, 6, 1200);
    EXPECT_GE(ab, 0.0);
    EXPECT_LE(ab, 1.0);
    EXPECT_NEAR(ab, ba, 1e-12);
  }
}

TEST(SScore, RejectsBadArguments) {
  EXPECT_THROW(s_score_numeric(uniform_density(0, 1), uniform_density(0, 1), 1, 0), ArgumentError);
  EXPECT_THROW(s_score_numeric(uniform_density(0, 1), uniform_density(0, 1), 5, 6), ArgumentError);  // no mass
  EXPECT_THROW(s_score_gaussian(Eigen::VectorXd::Zero(2), Eigen::MatrixXd::Identity(2, 2), Eigen::VectorXd::Zero(3),
                                Eigen::MatrixXd::Identity(3, 3)),
               ArgumentError);
  EXPECT_THROW(reduce_similar_experts({}, 1.5), ArgumentError);
}

TEST(ReduceSimilarExperts, MergesAndDrops) {
  const Eigen::MatrixXd I = Eigen::MatrixXd::Identity(2, 2);
  std::vector<GaussianPosterior> experts = {
      {Eigen::Vector2d(0, 0), I, 0.5}, {Eigen::Vector2d(0.01, 0), I, 0.25}, {Eigen::Vector2d(10, 0), I, 0.25}};
  const auto merged = reduce_similar_experts(experts, 0.9, SimilarAction::merge);
  ASSERT_EQ(merged.experts.size(), 2u);
  EXPECT_EQ(merged.members[0], (std::vector<int>{0, 1}));
  EXPECT_NEAR(merged.experts[0].weight, 0.75, 1e-15);
  EXPECT_NEAR(merged.experts[0].mean(0), 0.01 / 3, 1e-15);
  EXPECT_GT(merged.experts[0].covariance(0, 0), 1.0);  // the spread of the pair's means adds in
  const auto dropped = reduce_similar_experts(experts, 0.9, SimilarAction::drop);
  ASSERT_EQ(dropped.experts.size(), 2u);
  EXPECT_EQ(dropped.experts[0].mean, experts[0].mean);  // the heavier one stays
  EXPECT_NEAR(dropped.experts[0].weight, 0.75, 1e-15);
  const auto kept = reduce_similar_experts(experts, 1.0);
  EXPECT_EQ(kept.experts.size(), 3u);
  for (std::size_t i = 0; i + 1 < experts.size(); ++i) {
    const Eigen::MatrixXd s = similarity_matrix(merged.experts);
    EXPECT_LE(s(0, 1), 0.9);
  }
}

}  // namespace
}  // namespace msweep
