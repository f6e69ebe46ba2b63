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

// A DifferentiableObjective seen as a StochasticObjective of one object, so the stochastic
// optimizers (adam, sgd) run it full batch: every "minibatch" is the whole function. Used for
// small deterministic problems such as the mixture's softmax gate.
template <DifferentiableObjective F>
class FullBatch {
 public:
  explicit FullBatch(F& f) : f_(f) {}
  Eigen::Index parameters() const { return f_.parameters(); }
  Eigen::Index objects() const { return 1; }
  double evaluate(const Eigen::VectorXd& w) { return f_.evaluate(w); }
  double evaluate(const Eigen::VectorXd& w, std::span<const Eigen::Index>) { return f_.evaluate(w); }
  void gradient(const Eigen::VectorXd& w, Eigen::VectorXd& gradient) { f_.gradient(w, gradient); }
  double evaluate_with_gradient(const Eigen::VectorXd& w, Eigen::VectorXd& gradient) {
    return f_.evaluate_with_gradient(w, gradient);
  }
  double evaluate_with_gradient(const Eigen::VectorXd& w, std::span<const Eigen::Index>, Eigen::VectorXd& gradient) {
    return f_.evaluate_with_gradient(w, gradient);
  }

 private:
  F& f_;
};

}  // namespace msweep
