// The objective concepts the optimizers of optim/ are templates over (DESIGN habit 3, after
// ensmallen): a differentiable function of one flat parameter vector, optionally with exact
// Hessian-vector products, optionally a mean over objects that can be evaluated on minibatches.
// Concepts keep the optimizers model-agnostic: models/mlp's MlpObjective satisfies all three,
// and tests use small quadratics.
#pragma once
#include <Eigen/Dense>
#include <concepts>
#include <span>

namespace msweep {

// f(w), grad f(w) and both at once (the usual hot path).
template <class F>
concept DifferentiableObjective =
    requires(F& f, const Eigen::VectorXd& w, Eigen::VectorXd& gradient) {
      { f.parameters() } -> std::convertible_to<Eigen::Index>;
      { f.evaluate(w) } -> std::convertible_to<double>;
      f.gradient(w, gradient);
      { f.evaluate_with_gradient(w, gradient) } -> std::convertible_to<double>;
    };

// ... plus H(w) v.
template <class F>
concept TwiceDifferentiableObjective =
    DifferentiableObjective<F> && requires(F& f, const Eigen::VectorXd& w, const Eigen::VectorXd& v, Eigen::VectorXd& hv) {
      f.hessian_vector(w, v, hv);
    };

// f(w) = (1/m) sum_i f_i(w) over m objects, with the mean over any subset of rows available:
// what stochastic optimizers (SGD, Adam) need.
template <class F>
concept StochasticObjective =
    DifferentiableObjective<F> &&
    requires(F& f, const Eigen::VectorXd& w, std::span<const Eigen::Index> rows, Eigen::VectorXd& gradient) {
      { f.objects() } -> std::convertible_to<Eigen::Index>;
      { f.evaluate(w, rows) } -> std::convertible_to<double>;
      { f.evaluate_with_gradient(w, rows, gradient) } -> std::convertible_to<double>;
    };

}  // namespace msweep
