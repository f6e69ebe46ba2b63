#include "msweep/optim/hypergradient.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include "msweep/core/error.hpp"
#include "msweep/core/timer.hpp"

namespace msweep {

using Eigen::Index;
using Eigen::VectorXd;

namespace {

void check_sizes(const char* function, BilevelProblem& problem, const VectorXd& theta, const VectorXd& h) {
  require(theta.size() == problem.parameters(), function, "theta", std::to_string(problem.parameters()) + " entries");
  require(h.size() == problem.hyperparameters(), function, "h", std::to_string(problem.hyperparameters()) + " entries");
}

void check_training(const char* function, const InnerTraining& training) {
  require(training.steps >= 0, function, "training.steps", ">= 0");
  require(training.learning_rate > 0.0 && std::isfinite(training.learning_rate), function, "training.learning_rate",
          "finite and > 0");
}

// The inner gradient steps; `after_step(t, theta_before, theta_after, h)` may change h (greedy)
// and returns false to report a non-finite hypergradient.
using AfterStep = std::function<bool(Index, const VectorXd&, const VectorXd&, VectorXd&)>;

FitSummary descend(BilevelProblem& problem, VectorXd& h, VectorXd& theta, const InnerTraining& training,
                   std::vector<VectorXd>* trajectory, const AfterStep& after_step) {
  WallTimer timer;
  FitSummary summary;
  summary.message = "inner step budget used";
  if (trajectory) trajectory->clear();
  VectorXd gradient(theta.size()), next(theta.size());
  for (Index t = 0; t < training.steps; ++t) {
    const double loss = problem.inner_loss(theta, h, &gradient);
    next = theta - training.learning_rate * gradient;
    if (!std::isfinite(loss) || !next.allFinite()) {
      summary.termination = Termination::numerical_failure;
      summary.message = "inner training diverged (non-finite loss or step) at step " + std::to_string(t);
      break;
    }
    if (trajectory) trajectory->push_back(theta);
    if (after_step && !after_step(t, theta, next, h)) {
      summary.termination = Termination::numerical_failure;
      summary.message = "non-finite hypergradient at inner step " + std::to_string(t);
      theta = next;
      summary.iterations = t + 1;
      break;
    }
    theta.swap(next);
    summary.iterations = t + 1;
  }
  summary.seconds = timer.seconds();
  return summary;
}

// The reverse pass shared by the exact (stored trajectory) and DrMAD (straight line) variants:
// for t = T-1 down to `first`, with theta_t from `point`,
//   d_h -= lr M(theta_t)^T d_theta;  d_theta -= lr H(theta_t) d_theta.
Hypergradient reverse_pass(BilevelProblem& problem, const VectorXd& h, const VectorXd& theta_final,
                           const InnerTraining& training, Index first, const std::function<void(Index, VectorXd&)>& point) {
  Hypergradient result;
  VectorXd d_theta, d_h;
  result.criterion = problem.criterion(theta_final, h, &d_theta, &d_h);
  VectorXd theta_t(theta_final.size()), hv(theta_final.size());
  for (Index t = training.steps - 1; t >= first; --t) {
    point(t, theta_t);
    d_h -= training.learning_rate * problem.mixed_transpose_vector(theta_t, h, d_theta);
    problem.inner_hessian_vector(theta_t, h, d_theta, hv);
    d_theta -= training.learning_rate * hv;
    ++result.solver_iterations;
  }
  result.gradient = std::move(d_h);
  return result;
}

}  // namespace

FitSummary train_inner(BilevelProblem& problem, const VectorXd& h, VectorXd& theta, const InnerTraining& training,
                       std::vector<VectorXd>* trajectory) {
  check_sizes("train_inner", problem, theta, h);
  check_training("train_inner", training);
  VectorXd fixed_h = h;
  return descend(problem, fixed_h, theta, training, trajectory, {});
}

Hypergradient greedy_hypergradient(BilevelProblem& problem, const VectorXd& theta, const VectorXd& h, double learning_rate) {
  check_sizes("greedy_hypergradient", problem, theta, h);
  VectorXd gradient(theta.size());
  problem.inner_loss(theta, h, &gradient);
  const VectorXd next = theta - learning_rate * gradient;
  Hypergradient result;
  VectorXd d_theta, d_h;
  result.criterion = problem.criterion(next, h, &d_theta, &d_h);
  // theta'(h) = theta - lr dL/dtheta(theta, h): dtheta'/dh = -lr M(theta)^T.
  result.gradient = d_h - learning_rate * problem.mixed_transpose_vector(theta, h, d_theta);
  return result;
}

Hypergradient hoag_hypergradient(BilevelProblem& problem, const VectorXd& theta, const VectorXd& h, double tolerance,
                                 Index max_iterations) {
  check_sizes("hoag_hypergradient", problem, theta, h);
  require(tolerance >= 0.0, "hoag_hypergradient", "tolerance", ">= 0");
  require(max_iterations >= 0, "hoag_hypergradient", "max_iterations", ">= 0 (0: parameters())");
  if (max_iterations == 0) max_iterations = problem.parameters();
  Hypergradient result;
  VectorXd g, d_h;
  result.criterion = problem.criterion(theta, h, &g, &d_h);
  // Conjugate gradient on H q = g from q = 0 (Nocedal and Wright, algorithm 5.2).
  VectorXd q = VectorXd::Zero(g.size()), residual = g, direction = g, hp(g.size());
  const double target = tolerance * g.norm();
  double rr = residual.squaredNorm();
  Index k = 0;
  while (k < max_iterations && std::sqrt(rr) > target) {
    problem.inner_hessian_vector(theta, h, direction, hp);
    const double curvature = direction.dot(hp);
    if (!(curvature > 0.0)) {
      // L is not convex along this direction (an MLP away from a minimum): stop with the
      // current solution, or the gradient itself if nothing was solved yet (Newton-CG's rule).
      result.negative_curvature = true;
      if (k == 0) q = g;
      break;
    }
    const double alpha = rr / curvature;
    q += alpha * direction;
    residual -= alpha * hp;
    const double rr_next = residual.squaredNorm();
    direction = residual + (rr_next / rr) * direction;
    rr = rr_next;
    ++k;
  }
  result.solver_iterations = k;
  const double g_norm = g.norm();
  result.relative_residual = g_norm > 0.0 ? std::sqrt(rr) / g_norm : 0.0;
  result.gradient = d_h - problem.mixed_transpose_vector(theta, h, q);
  return result;
}

Hypergradient unrolled_hypergradient(BilevelProblem& problem, const VectorXd& h, const std::vector<VectorXd>& trajectory,
                                     const VectorXd& theta_final, const InnerTraining& training) {
  check_sizes("unrolled_hypergradient", problem, theta_final, h);
  check_training("unrolled_hypergradient", training);
  require(static_cast<Index>(trajectory.size()) == training.steps, "unrolled_hypergradient", "trajectory",
          "theta_0 .. theta_{T-1} (training.steps points)");
  return reverse_pass(problem, h, theta_final, training, 0,
                      [&](Index t, VectorXd& theta_t) { theta_t = trajectory[static_cast<std::size_t>(t)]; });
}

Hypergradient drmad_hypergradient(BilevelProblem& problem, const VectorXd& h, const VectorXd& theta_initial,
                                  const VectorXd& theta_final, const InnerTraining& training, double skip_fraction) {
  check_sizes("drmad_hypergradient", problem, theta_final, h);
  check_training("drmad_hypergradient", training);
  require(theta_initial.size() == theta_final.size(), "drmad_hypergradient", "theta_initial", "the size of theta_final");
  require(skip_fraction >= 0.0 && skip_fraction < 1.0, "drmad_hypergradient", "skip_fraction", "in [0, 1)");
  const Index first = static_cast<Index>(std::ceil(skip_fraction * static_cast<double>(training.steps)));
  const double steps = static_cast<double>(training.steps);
  return reverse_pass(problem, h, theta_final, training, first, [&](Index t, VectorXd& theta_t) {
    const double beta = static_cast<double>(t) / steps;
    theta_t = (1.0 - beta) * theta_initial + beta * theta_final;
  });
}

const char* to_string(HypergradientMethod method) {
  switch (method) {
    case HypergradientMethod::greedy: return "greedy";
    case HypergradientMethod::hoag: return "hoag";
    case HypergradientMethod::drmad: return "drmad";
  }
  return "unknown";
}

namespace {

// h <- h + g_h direction; a step that leaves the limits is clipped and g_h divided by 10 (at most
// max_step_reductions times over the run), the original code's rule.
void bounded_step(VectorXd& h, const VectorXd& direction, const HpoOptions& options, HpoSummary& summary) {
  h += summary.step_size * direction;
  const bool outside = (h.array() < options.limits.low).any() || (h.array() > options.limits.high).any();
  if (!outside) return;
  h = h.cwiseMax(options.limits.low).cwiseMin(options.limits.high);
  if (summary.step_reductions < options.max_step_reductions) {
    summary.step_size /= 10.0;
    ++summary.step_reductions;
  }
}

void check_options(const HpoOptions& o) {
  const char* f = "optimize_hyperparameters";
  require(o.outer_iterations >= 1, f, "options.outer_iterations", ">= 1");
  check_training(f, o.inner);
  require(o.step_size > 0.0 && std::isfinite(o.step_size), f, "options.step_size", "finite and > 0");
  require(o.limits.low < o.limits.high, f, "options.limits", "low < high");
  require(o.max_step_reductions >= 0, f, "options.max_step_reductions", ">= 0");
  require(o.hoag_tolerance >= 0.0, f, "options.hoag_tolerance", ">= 0");
  require(o.hoag_tolerance_decay > 0.0 && o.hoag_tolerance_decay <= 1.0, f, "options.hoag_tolerance_decay", "in (0, 1]");
  require(o.cg_max_iterations >= 0, f, "options.cg_max_iterations", ">= 0");
  require(o.drmad_skip_fraction >= 0.0 && o.drmad_skip_fraction < 1.0, f, "options.drmad_skip_fraction", "in [0, 1)");
}

}  // namespace

HpoSummary optimize_hyperparameters(BilevelProblem& problem, const VectorXd& theta_initial, const VectorXd& h_initial,
                                    const HpoOptions& options) {
  check_sizes("optimize_hyperparameters", problem, theta_initial, h_initial);
  check_options(options);
  WallTimer timer;
  HpoSummary summary;
  summary.step_size = options.step_size;
  summary.h = h_initial.cwiseMax(options.limits.low).cwiseMin(options.limits.high);
  summary.message = "outer iteration budget used";
  const bool greedy = options.method == HypergradientMethod::greedy;
  std::vector<VectorXd> trajectory;
  VectorXd theta;
  for (Index j = 0; j < options.outer_iterations; ++j) {
    theta = theta_initial;
    AfterStep greedy_step;
    if (greedy) {
      greedy_step = [&](Index, const VectorXd& before, const VectorXd&, VectorXd& h) {
        const Hypergradient g = greedy_hypergradient(problem, before, h, options.inner.learning_rate);
        if (!g.gradient.allFinite()) return false;
        bounded_step(h, g.gradient, options, summary);
        return true;
      };
    }
    const FitSummary inner = descend(problem, summary.h, theta, options.inner, nullptr, greedy_step);
    const double q = inner.usable() ? problem.criterion(theta, summary.h, nullptr, nullptr) : std::nan("");
    summary.criterion.push_back(q);
    summary.iterations = j + 1;
    if (!std::isfinite(q)) {
      summary.termination = Termination::numerical_failure;
      summary.message = "outer iteration " + std::to_string(j) + ": " +
                        (inner.usable() ? std::string("non-finite criterion") : inner.message);
      break;
    }
    if (q > summary.best_criterion) {
      summary.best_criterion = q;
      summary.best_iteration = j;
      summary.best_h = summary.h;
      summary.best_theta = theta;
    }
    if (greedy || j + 1 == options.outer_iterations) continue;
    Hypergradient g;
    if (options.method == HypergradientMethod::hoag) {
      const double tolerance = options.hoag_tolerance * std::pow(options.hoag_tolerance_decay, static_cast<double>(j));
      g = hoag_hypergradient(problem, theta, summary.h, tolerance, options.cg_max_iterations);
    } else {
      g = drmad_hypergradient(problem, summary.h, theta_initial, theta, options.inner, options.drmad_skip_fraction);
    }
    if (!g.gradient.allFinite()) {
      summary.termination = Termination::numerical_failure;
      summary.message = "non-finite hypergradient at outer iteration " + std::to_string(j);
      break;
    }
    bounded_step(summary.h, g.gradient, options, summary);
  }
  summary.seconds = timer.seconds();
  return summary;
}

double evaluate_hyperparameters(BilevelProblem& problem, const VectorXd& theta_initial, const VectorXd& h,
                                const InnerTraining& training, VectorXd* theta_final) {
  VectorXd theta = theta_initial;
  const FitSummary inner = train_inner(problem, h, theta, training);
  const double q = inner.usable() ? problem.criterion(theta, h, nullptr, nullptr) : std::nan("");
  if (theta_final) *theta_final = std::move(theta);
  return q;
}

StepCalibration calibrate_step_size(BilevelProblem& problem, const VectorXd& theta_initial, const VectorXd& h_initial,
                                    HpoOptions options, Index iterations, int min_exponent, int max_exponent) {
  require(iterations >= 1, "calibrate_step_size", "iterations", ">= 1");
  require(min_exponent <= max_exponent, "calibrate_step_size", "min_exponent", "<= max_exponent");
  options.outer_iterations = iterations;
  StepCalibration calibration;
  double best = -std::numeric_limits<double>::infinity();
  for (int s = max_exponent; s >= min_exponent; --s) {
    for (const double r : {7.5, 5.0, 2.5, 1.0}) {
      options.step_size = r * std::pow(10.0, s);
      const HpoSummary run = optimize_hyperparameters(problem, theta_initial, h_initial, options);
      const double value = run.usable() ? run.best_criterion : std::nan("");
      calibration.candidates.push_back(options.step_size);
      calibration.best_criteria.push_back(value);
      if (std::isfinite(value) && value > best) {
        best = value;
        calibration.step_size = options.step_size;
      }
    }
  }
  return calibration;
}

Index iterations_to_fraction(const std::vector<double>& criterion, double fraction) {
  if (criterion.empty()) return -1;
  const double first = criterion.front();
  double best = -std::numeric_limits<double>::infinity();
  for (const double q : criterion)
    if (std::isfinite(q)) best = std::max(best, q);
  if (!std::isfinite(first) || !(best > first)) return 0;
  for (std::size_t j = 0; j < criterion.size(); ++j)
    if (std::isfinite(criterion[j]) && (criterion[j] - first) / (best - first) >= fraction) return static_cast<Index>(j);
  return static_cast<Index>(criterion.size()) - 1;
}

std::vector<double> best_so_far(const std::vector<double>& criterion) {
  std::vector<double> out(criterion.size(), std::nan(""));
  double best = std::nan("");
  for (std::size_t j = 0; j < criterion.size(); ++j) {
    if (std::isfinite(criterion[j]) && !(criterion[j] <= best)) best = criterion[j];
    out[j] = best;
  }
  return out;
}

}  // namespace msweep
