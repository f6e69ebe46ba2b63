// Stochastic first-order optimizers over the StochasticObjective concept: SGD with (heavy-ball)
// momentum and Adam (Kingma and Ba 2015, with PyTorch's update order so benchmarks compare the
// same arithmetic). Both take a per-parameter freeze mask (frozen entries stay bitwise
// unchanged), a callback called once per iteration that can stop the run, and an explicit
// state so training can continue from a saved point (the parameter-ordering experiment
// continues Adam from iteration t0 with different masks).
//
// Non-convergence is a Termination in the Summary (core/termination.hpp), never an exception;
// arguments outside the contract throw ArgumentError naming the function.
#pragma once
#include <Eigen/Dense>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <string>

#include "msweep/core/error.hpp"
#include "msweep/core/termination.hpp"
#include "msweep/core/timer.hpp"
#include "msweep/optim/minibatch.hpp"
#include "msweep/optim/objective.hpp"

namespace msweep {

// termination: budget_spent (the normal end of a fixed-budget run), converged (max |g_S| over
// trainable entries fell to gradient_tolerance), stopped (the callback returned true) or
// numerical_failure (the objective or its gradient became non-finite; w is the last finite point).
struct OptimSummary : FitSummary {
  double initial_objective = std::numeric_limits<double>::quiet_NaN();  // minibatch objective at the first iteration
  double objective = std::numeric_limits<double>::quiet_NaN();  // at the returned w: all objects if evaluate_final, else the last minibatch
};

// What the callback sees at iteration t, before the step is applied.
struct IterationState {
  Eigen::Index iteration;               // t = 1, 2, ... within this call
  const Eigen::VectorXd& w;             // the point the gradient was taken at
  const Eigen::VectorXd& gradient;      // minibatch gradient g_S at w
  std::span<const Eigen::Index> batch;  // the minibatch rows S
  double batch_objective;               // f_S(w)
};
// Returns true to stop before the step of this iteration (early stopping, time limits...).
using IterationCallback = std::function<bool(const IterationState&)>;

struct StochasticOptions {
  Eigen::Index max_iterations = 1000;  // minibatch steps
  Eigen::Index batch_size = 32;        // objects per minibatch; 0 (or >= objects) for the full batch
  std::uint64_t seed = 0;              // minibatch order stream (derive it from the task coordinates)
  double gradient_tolerance = 0.0;     // converged when max |g_S| over trainable entries <= this; 0 disables
  bool evaluate_final = true;          // Summary::objective over all objects (one extra pass)
  Eigen::Array<bool, Eigen::Dynamic, 1> trainable;  // alpha_j: false freezes w_j; empty trains all
};

struct SgdOptions : StochasticOptions {
  double learning_rate = 0.01;
  double momentum = 0.0;  // v = mu v + g, w -= lr v (PyTorch's convention); 0 is plain SGD
};
struct SgdState {
  Eigen::VectorXd velocity;  // empty: starts at zero
};

struct AdamOptions : StochasticOptions {
  double learning_rate = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;  // moment decay rates
  double epsilon = 1e-8;              // added to sqrt(v_hat)
};
struct AdamState {
  Eigen::VectorXd m, v;    // first and second moments; empty: start at zero
  Eigen::Index step = 0;   // steps taken so far (bias correction continues from here)
};

namespace detail {

inline void check_stochastic(const char* function, Eigen::Index parameters, Eigen::Index w_size, const StochasticOptions& o) {
  require(w_size == parameters, function, "w", std::to_string(parameters) + " entries (objective.parameters())");
  require(o.max_iterations >= 0, function, "options.max_iterations", ">= 0");
  require(o.batch_size >= 0, function, "options.batch_size", ">= 0 (0: full batch)");
  require(o.gradient_tolerance >= 0.0, function, "options.gradient_tolerance", ">= 0");
  require(o.trainable.size() == 0 || o.trainable.size() == parameters, function, "options.trainable",
          "empty or one flag per parameter");
}

// The loop both optimizers share: draw S, evaluate f_S and g_S, check, call back, step.
template <StochasticObjective F, class Step>
OptimSummary run_stochastic(F& f, Eigen::VectorXd& w, const StochasticOptions& o, const IterationCallback& callback, Step&& step) {
  WallTimer timer;
  OptimSummary summary;
  MinibatchSampler sampler(f.objects(), o.batch_size, o.seed);
  Eigen::VectorXd gradient(w.size());
  double last = std::numeric_limits<double>::quiet_NaN();
  const bool masked = o.trainable.size() > 0;
  summary.message = "iteration budget used";
  for (Eigen::Index t = 1; t <= o.max_iterations; ++t) {
    const auto batch = sampler.next();
    const double value = f.evaluate_with_gradient(w, batch, gradient);
    if (t == 1) summary.initial_objective = value;
    if (!std::isfinite(value) || !gradient.allFinite()) {
      summary.termination = Termination::numerical_failure;
      summary.message = "non-finite objective or gradient at iteration " + std::to_string(t);
      break;
    }
    last = value;
    if (callback && callback(IterationState{t, w, gradient, batch, value})) {
      summary.termination = Termination::stopped;
      summary.message = "stopped by the callback at iteration " + std::to_string(t);
      break;
    }
    if (o.gradient_tolerance > 0.0) {
      const double largest = masked ? o.trainable.select(gradient.array().abs(), 0.0).maxCoeff() : gradient.lpNorm<Eigen::Infinity>();
      if (largest <= o.gradient_tolerance) {
        summary.termination = Termination::converged;
        summary.message = "max |gradient| <= tolerance at iteration " + std::to_string(t);
        break;
      }
    }
    step(gradient);
    summary.iterations = t;
  }
  summary.objective = o.evaluate_final ? f.evaluate(w) : last;
  summary.seconds = timer.seconds();
  return summary;
}

}  // namespace detail

// SGD with momentum: v <- mu v + g_S, w <- w - lr v on trainable entries; O(p) per step plus f.
template <StochasticObjective F>
OptimSummary sgd(F& f, Eigen::VectorXd& w, const SgdOptions& options, SgdState& state, const IterationCallback& callback = {}) {
  detail::check_stochastic("sgd", f.parameters(), w.size(), options);
  require(options.learning_rate > 0.0 && std::isfinite(options.learning_rate), "sgd", "options.learning_rate", "finite and > 0");
  require(options.momentum >= 0.0 && options.momentum < 1.0, "sgd", "options.momentum", "in [0, 1)");
  if (state.velocity.size() == 0) state.velocity = Eigen::VectorXd::Zero(w.size());
  require(state.velocity.size() == w.size(), "sgd", "state.velocity", "empty or the size of w");
  const bool masked = options.trainable.size() > 0;
  return detail::run_stochastic(f, w, options, callback, [&](const Eigen::VectorXd& g) {
    if (options.momentum > 0.0)
      state.velocity = options.momentum * state.velocity + g;
    else
      state.velocity = g;
    if (masked)
      w = options.trainable.select(w.array() - options.learning_rate * state.velocity.array(), w.array()).matrix();
    else
      w.noalias() -= options.learning_rate * state.velocity;
  });
}

template <StochasticObjective F>
OptimSummary sgd(F& f, Eigen::VectorXd& w, const SgdOptions& options, const IterationCallback& callback = {}) {
  SgdState state;
  return sgd(f, w, options, state, callback);
}

// Adam: m <- b1 m + (1-b1) g, v <- b2 v + (1-b2) g^2,
// w <- w - lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps) on trainable entries; O(p) per step plus f.
template <StochasticObjective F>
OptimSummary adam(F& f, Eigen::VectorXd& w, const AdamOptions& options, AdamState& state, const IterationCallback& callback = {}) {
  detail::check_stochastic("adam", f.parameters(), w.size(), options);
  require(options.learning_rate > 0.0 && std::isfinite(options.learning_rate), "adam", "options.learning_rate", "finite and > 0");
  require(options.beta1 >= 0.0 && options.beta1 < 1.0, "adam", "options.beta1", "in [0, 1)");
  require(options.beta2 >= 0.0 && options.beta2 < 1.0, "adam", "options.beta2", "in [0, 1)");
  require(options.epsilon > 0.0, "adam", "options.epsilon", "> 0");
  if (state.m.size() == 0) state.m = Eigen::VectorXd::Zero(w.size());
  if (state.v.size() == 0) state.v = Eigen::VectorXd::Zero(w.size());
  require(state.m.size() == w.size() && state.v.size() == w.size(), "adam", "state", "moments empty or the size of w");
  require(state.step >= 0, "adam", "state.step", ">= 0");
  const bool masked = options.trainable.size() > 0;
  return detail::run_stochastic(f, w, options, callback, [&](const Eigen::VectorXd& g) {
    ++state.step;
    const double t = static_cast<double>(state.step);
    state.m = options.beta1 * state.m + (1.0 - options.beta1) * g;
    state.v = options.beta2 * state.v + (1.0 - options.beta2) * g.cwiseAbs2();
    const double step_size = options.learning_rate / (1.0 - std::pow(options.beta1, t));
    const double inv_sqrt_correction = 1.0 / std::sqrt(1.0 - std::pow(options.beta2, t));
    const auto update = step_size * state.m.array() / (state.v.array().sqrt() * inv_sqrt_correction + options.epsilon);
    if (masked)
      w = options.trainable.select(w.array() - update, w.array()).matrix();
    else
      w.array() -= update;
  });
}

template <StochasticObjective F>
OptimSummary adam(F& f, Eigen::VectorXd& w, const AdamOptions& options, const IterationCallback& callback = {}) {
  AdamState state;
  return adam(f, w, options, state, callback);
}

// Early stopping on a validation objective: every `every` iterations evaluates it at the current
// point and asks to stop once `patience` checks in a row brought no improvement; remembers the
// best point. Pass it as std::ref(stopper) so the optimizer does not work on a copy.
template <DifferentiableObjective V>
class EarlyStopping {
 public:
  EarlyStopping(V& validation, Eigen::Index every, int patience) : validation_(validation), every_(every), patience_(patience) {
    require(every >= 1, "EarlyStopping::EarlyStopping", "every", ">= 1");
    require(patience >= 1, "EarlyStopping::EarlyStopping", "patience", ">= 1");
  }

  bool operator()(const IterationState& state) {
    if (state.iteration % every_ != 0) return false;
    const double value = validation_.evaluate(state.w);
    if (value < best_) {
      best_ = value;
      best_w_ = state.w;
      best_iteration_ = state.iteration;
      stale_ = 0;
      return false;
    }
    return ++stale_ >= patience_;
  }

  double best() const { return best_; }                      // +inf before the first check
  const Eigen::VectorXd& best_w() const { return best_w_; }  // empty before the first check
  Eigen::Index best_iteration() const { return best_iteration_; }

 private:
  V& validation_;
  Eigen::Index every_;
  int patience_;
  int stale_ = 0;
  double best_ = std::numeric_limits<double>::infinity();
  Eigen::VectorXd best_w_;
  Eigen::Index best_iteration_ = 0;
};

}  // namespace msweep
