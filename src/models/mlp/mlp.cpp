// Multilayer perceptron: forward pass, backpropagation and Pearlmutter's R-operator on one flat
// parameter vector (see mlp.hpp for the layout and the feature-major batch convention).
#include "msweep/models/mlp/mlp.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

#include "msweep/core/error.hpp"
#include "msweep/core/math.hpp"

namespace msweep {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;

// H = f(A).
void activate(Activation f, const MatrixXd& A, MatrixXd& H) {
  switch (f) {
    case Activation::identity: H = A; break;
    case Activation::tanh: H = A.array().tanh(); break;
    case Activation::relu: H = A.array().max(0.0); break;
    case Activation::sigmoid: H = (1.0 + (-A.array()).exp()).inverse(); break;
    // log(1 + e^a) = max(a, 0) + log1p(e^-|a|): no overflow for large |a|.
    case Activation::softplus: H = A.array().max(0.0) + (-A.array().abs()).exp().log1p(); break;
  }
}

// D = f'(A), using H = f(A) where that is cheaper.
void slope(Activation f, const MatrixXd& A, const MatrixXd& H, MatrixXd& D) {
  switch (f) {
    case Activation::identity: D.setOnes(A.rows(), A.cols()); break;
    case Activation::tanh: D = 1.0 - H.array().square(); break;
    case Activation::relu: D = (A.array() > 0.0).cast<double>(); break;
    case Activation::sigmoid: D = H.array() * (1.0 - H.array()); break;
    case Activation::softplus: D = (1.0 + (-A.array()).exp()).inverse(); break;
  }
}

// D = f''(A) (zero almost everywhere for relu: its Hessian is that of a piecewise-linear map).
void curvature(Activation f, const MatrixXd& A, const MatrixXd& H, MatrixXd& D) {
  switch (f) {
    case Activation::identity:
    case Activation::relu: D.setZero(A.rows(), A.cols()); break;
    case Activation::tanh: D = -2.0 * H.array() * (1.0 - H.array().square()); break;
    case Activation::sigmoid: D = H.array() * (1.0 - H.array()) * (1.0 - 2.0 * H.array()); break;
    case Activation::softplus: {
      const Eigen::ArrayXXd s = (1.0 + (-A.array()).exp()).inverse();
      D = s * (1.0 - s);
      break;
    }
  }
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

// Softmax of one column, stably: exp(a - max a) / sum.
void softmax_column(const Eigen::Ref<const Eigen::VectorXd>& a, Eigen::Ref<Eigen::VectorXd> p) {
  p = (a.array() - a.maxCoeff()).exp();
  p /= p.sum();
}

}  // namespace

std::string to_string(Activation activation) {
  switch (activation) {
    case Activation::identity: return "identity";
    case Activation::tanh: return "tanh";
    case Activation::relu: return "relu";
    case Activation::sigmoid: return "sigmoid";
    case Activation::softplus: return "softplus";
  }
  return "?";
}

std::string to_string(Loss loss) { return loss == Loss::mse ? "mse" : "cross-entropy"; }

Activation activation_from_string(std::string_view name) {
  for (auto f : {Activation::identity, Activation::tanh, Activation::relu, Activation::sigmoid, Activation::softplus})
    if (name == to_string(f)) return f;
  throw ArgumentError("activation_from_string: name: expected identity, tanh, relu, sigmoid or softplus, got \"" +
                      std::string(name) + "\"");
}

Loss loss_from_string(std::string_view name) {
  if (name == "mse") return Loss::mse;
  if (name == "cross-entropy") return Loss::cross_entropy;
  throw ArgumentError("loss_from_string: name: expected mse or cross-entropy, got \"" + std::string(name) + "\"");
}

Mlp::Mlp(MlpOptions options) : options_(std::move(options)) {
  require(options_.layers.size() >= 2, "Mlp::Mlp", "options.layers", "at least two widths (input and output)");
  for (auto width : options_.layers) require(width >= 1, "Mlp::Mlp", "options.layers", "widths >= 1");
  require(options_.loss != Loss::mse || outputs() == 1, "Mlp::Mlp", "options.layers", "one output for the mse loss");
  require(std::isfinite(options_.init_gain) && options_.init_gain >= 0.0, "Mlp::Mlp", "options.init_gain", "finite and >= 0");
  offsets_.assign(options_.layers.size(), 0);
  Index offset = 0;
  for (int l = 1; l <= weight_layers(); ++l) {
    offsets_[static_cast<std::size_t>(l)] = offset;
    const Index in = options_.layers[static_cast<std::size_t>(l - 1)], out = options_.layers[static_cast<std::size_t>(l)];
    offset += out * in + (options_.bias ? out : 0);
  }
  parameter_count_ = offset;
}

std::string Mlp::label() const {
  std::string label;
  for (auto width : options_.layers) label += (label.empty() ? "" : "-") + std::to_string(width);
  return label;
}

Eigen::Map<const Eigen::MatrixXd> Mlp::weights(const Eigen::Ref<const Eigen::VectorXd>& w, int l) const {
  const auto ul = static_cast<std::size_t>(l);
  return {w.data() + offsets_[ul], options_.layers[ul], options_.layers[ul - 1]};
}

Eigen::Map<const Eigen::VectorXd> Mlp::biases(const Eigen::Ref<const Eigen::VectorXd>& w, int l) const {
  const auto ul = static_cast<std::size_t>(l);
  const Index out = options_.layers[ul], in = options_.layers[ul - 1];
  return {w.data() + offsets_[ul] + out * in, options_.bias ? out : 0};
}

Eigen::VectorXd Mlp::initial_parameters(RandomStream& rng) const {
  Eigen::VectorXd w = Eigen::VectorXd::Zero(parameter_count_);
  for (int l = 1; l <= weight_layers(); ++l) {
    const auto ul = static_cast<std::size_t>(l);
    const Index out = options_.layers[ul], in = options_.layers[ul - 1];
    // Glorot and Bengio (2010): keeps activation variance roughly constant across layers.
    const double limit = options_.init_gain * std::sqrt(6.0 / static_cast<double>(in + out));
    for (Index k = 0; k < out * in; ++k) w(offsets_[ul] + k) = rng.uniform(-limit, limit);
  }
  return w;
}

void Mlp::check_parameters(const char* function, const Eigen::Ref<const Eigen::VectorXd>& w) const {
  require(w.size() == parameter_count_, function, "w", std::to_string(parameter_count_) + " parameters for " + label());
}

void Mlp::check_data(const char* function, Index features, const Eigen::Ref<const Eigen::VectorXd>& y) const {
  require(features == inputs(), function, "X", std::to_string(inputs()) + " features for " + label());
  if (options_.loss != Loss::cross_entropy) return;
  const double classes = outputs() == 1 ? 2.0 : static_cast<double>(outputs());
  for (Index i = 0; i < y.size(); ++i)
    require(y(i) >= 0.0 && y(i) < classes && y(i) == std::floor(y(i)), function, "y",
            "class indices 0.." + std::to_string(static_cast<int>(classes) - 1));
}

void Mlp::forward(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& Xt, MlpWorkspace& work) const {
  const int L = weight_layers();
  work.curvatures_current = false;
  work.pre.resize(static_cast<std::size_t>(L + 1));
  work.post.resize(static_cast<std::size_t>(L + 1));
  for (int l = 1; l <= L; ++l) {
    const auto ul = static_cast<std::size_t>(l);
    auto& A = work.pre[ul];
    if (l == 1)
      A.noalias() = weights(w, l) * Xt;
    else
      A.noalias() = weights(w, l) * work.post[ul - 1];
    if (options_.bias) A.colwise() += biases(w, l);
    if (l < L) activate(options_.activation, A, work.post[ul]);
  }
}

// Mean loss of the outputs (K x b) against y; O(b K).
double Mlp::output_loss(const MatrixXd& out, const Eigen::Ref<const Eigen::VectorXd>& y, MatrixXd* delta) const {
  const Index b = out.cols();
  const double inv_b = 1.0 / static_cast<double>(b);
  if (options_.loss == Loss::mse) {
    const Eigen::RowVectorXd r = out.row(0) - y.transpose();
    if (delta) *delta = (2.0 * inv_b) * r;
    return r.squaredNorm() * inv_b;
  }
  if (out.rows() == 1) {
    // -ln p(y | z) = log(1 + e^z) - y z, with log(1 + e^z) = max(z, 0) + log1p(e^-|z|).
    double total = 0.0;
    if (delta) delta->resize(1, b);
    for (Index i = 0; i < b; ++i) {
      const double z = out(0, i);
      total += std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z))) - y(i) * z;
      if (delta) (*delta)(0, i) = (sigmoid(z) - y(i)) * inv_b;
    }
    return total * inv_b;
  }
  // -ln softmax(a)_y = logsumexp(a) - a_y.
  double total = 0.0;
  if (delta) delta->resize(out.rows(), b);
  for (Index i = 0; i < b; ++i) {
    const auto a = out.col(i);
    const auto label = static_cast<Index>(y(i));
    total += log_sum_exp(a) - a(label);
    if (delta) {
      // softmax(a) as exp(a - max) / sum, the arithmetic the PyTorch benchmark compares against.
      const double top = a.maxCoeff();
      delta->col(i) = (a.array() - top).exp() / (a.array() - top).exp().sum() * inv_b;
      (*delta)(label, i) -= inv_b;
    }
  }
  return total * inv_b;
}

double Mlp::loss_columns(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& Xt,
                         const Eigen::Ref<const Eigen::VectorXd>& y, MlpWorkspace& work) const {
  forward(w, Xt, work);
  return output_loss(work.pre.back(), y, nullptr);
}

double Mlp::loss_gradient_columns(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& Xt,
                                  const Eigen::Ref<const Eigen::VectorXd>& y, Eigen::Ref<Eigen::VectorXd> gradient,
                                  MlpWorkspace& work) const {
  return backpropagate(w, Xt, y, &gradient, work);
}

double Mlp::backpropagate(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& Xt,
                          const Eigen::Ref<const Eigen::VectorXd>& y, Eigen::Ref<Eigen::VectorXd>* gradient, MlpWorkspace& work) const {
  forward(w, Xt, work);
  const int L = weight_layers();
  const auto uL = static_cast<std::size_t>(L);
  work.delta.resize(uL + 1);
  work.back.resize(uL + 1);
  work.slopes.resize(uL + 1);
  work.curvatures.resize(uL + 1);
  work.curvatures_current = false;
  const double value = output_loss(work.pre.back(), y, &work.delta.back());
  for (int l = L; l >= 1; --l) {
    const auto ul = static_cast<std::size_t>(l);
    const Index out = options_.layers[ul], in = options_.layers[ul - 1];
    const MatrixXd& D = work.delta[ul];
    if (gradient) {
      Eigen::Map<MatrixXd> grad_W(gradient->data() + offsets_[ul], out, in);
      // dL/dW_l = D_l H_{l-1}^T, dL/db_l = D_l 1.
      if (l == 1)
        grad_W.noalias() = D * Xt.transpose();
      else
        grad_W.noalias() = D * work.post[ul - 1].transpose();
      if (options_.bias) Eigen::Map<Eigen::VectorXd>(gradient->data() + offsets_[ul] + out * in, out) = D.rowwise().sum();
    }
    if (l > 1) {
      // D_{l-1} = (W_l^T D_l) .* f'(A_{l-1}); W_l^T D_l and f' are kept for the R-operator.
      work.back[ul - 1].noalias() = weights(w, l).transpose() * D;
      slope(options_.activation, work.pre[ul - 1], work.post[ul - 1], work.slopes[ul - 1]);
      work.delta[ul - 1] = work.back[ul - 1].array() * work.slopes[ul - 1].array();
    }
  }
  return value;
}

void Mlp::hessian_vector_columns(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::VectorXd>& v,
                                 const Eigen::Ref<const Eigen::MatrixXd>& Xt, const Eigen::Ref<const Eigen::VectorXd>& y,
                                 Eigen::Ref<Eigen::VectorXd> hessian_vector, MlpWorkspace& work) const {
  backpropagate(w, Xt, y, nullptr, work);
  hessian_vector_backpropagated(w, v, Xt, hessian_vector, work);
}

void Mlp::hessian_vector_backpropagated(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::VectorXd>& v,
                                        const Eigen::Ref<const Eigen::MatrixXd>& Xt, Eigen::Ref<Eigen::VectorXd> hessian_vector,
                                        MlpWorkspace& work) const {
  // Pearlmutter (1994): R{.} = d/dr (.)(w + r v) at r = 0, pushed through the forward pass and
  // backpropagation; R{grad L} = H v exactly. The plain passes (A_l, H_l, D_l, W^T D, f') are the
  // workspace's from backpropagate at this w and Xt: only the R passes run here, so several
  // products at one point (the entropy step's two, power iteration's) share one forward pass.
  const int L = weight_layers();
  const auto uL = static_cast<std::size_t>(L);
  const Index b = Xt.cols();
  work.r_pre.resize(uL + 1);
  work.r_post.resize(uL + 1);
  work.r_delta.resize(uL + 1);
  if (!work.curvatures_current) {
    for (int l = 1; l < L; ++l) {
      const auto ul = static_cast<std::size_t>(l);
      curvature(options_.activation, work.pre[ul], work.post[ul], work.curvatures[ul]);
    }
    work.curvatures_current = true;
  }

  // Forward R pass: R{A_l} = V_l H_{l-1} + W_l R{H_{l-1}} + v_b, R{H_l} = f'(A_l) .* R{A_l}.
  for (int l = 1; l <= L; ++l) {
    const auto ul = static_cast<std::size_t>(l);
    auto& RA = work.r_pre[ul];
    if (l == 1) {
      RA.noalias() = weights(v, l) * Xt;
    } else {
      RA.noalias() = weights(v, l) * work.post[ul - 1];
      RA.noalias() += weights(w, l) * work.r_post[ul - 1];
    }
    if (options_.bias) RA.colwise() += biases(v, l);
    if (l < L) work.r_post[ul] = work.slopes[ul].array() * RA.array();
  }

  // Output: R{D_L} = (d^2 L / dA_L^2) R{A_L}, block-diagonal over objects.
  const MatrixXd& out = work.pre[uL];
  const MatrixXd& R_out = work.r_pre[uL];
  auto& RD_L = work.r_delta[uL];
  const double inv_b = 1.0 / static_cast<double>(b);
  if (options_.loss == Loss::mse) {
    RD_L = (2.0 * inv_b) * R_out;
  } else if (out.rows() == 1) {
    RD_L.resize(1, b);
    for (Index i = 0; i < b; ++i) {
      const double p = sigmoid(out(0, i));
      RD_L(0, i) = p * (1.0 - p) * R_out(0, i) * inv_b;
    }
  } else {
    RD_L.resize(out.rows(), b);
    Eigen::VectorXd p(out.rows());
    for (Index i = 0; i < b; ++i) {
      softmax_column(out.col(i), p);
      // (diag p - p p^T) r = p .* (r - p.r)
      RD_L.col(i) = p.array() * (R_out.col(i).array() - p.dot(R_out.col(i))) * inv_b;
    }
  }

  // Backward R pass.
  for (int l = L; l >= 1; --l) {
    const auto ul = static_cast<std::size_t>(l);
    const Index o = options_.layers[ul], in = options_.layers[ul - 1];
    Eigen::Map<MatrixXd> hv_W(hessian_vector.data() + offsets_[ul], o, in);
    const MatrixXd& D = work.delta[ul];
    const MatrixXd& RD = work.r_delta[ul];
    // R{dL/dW_l} = R{D_l} H_{l-1}^T + D_l R{H_{l-1}}^T (R{H_0} = 0).
    if (l == 1) {
      hv_W.noalias() = RD * Xt.transpose();
    } else {
      hv_W.noalias() = RD * work.post[ul - 1].transpose();
      hv_W.noalias() += D * work.r_post[ul - 1].transpose();
    }
    if (options_.bias) Eigen::Map<Eigen::VectorXd>(hessian_vector.data() + offsets_[ul] + o * in, o) = RD.rowwise().sum();
    if (l > 1) {
      // G = W^T D, R{G} = W^T R{D} + V^T D; D_{l-1} = G .* f', R{D_{l-1}} = R{G} .* f' + G .* f'' .* R{A_{l-1}}.
      const MatrixXd& G = work.back[ul - 1];
      work.scratch2.noalias() = weights(w, l).transpose() * RD;
      work.scratch2.noalias() += weights(v, l).transpose() * D;
      work.r_delta[ul - 1] = work.scratch2.array() * work.slopes[ul - 1].array();
      work.r_delta[ul - 1].array() += G.array() * work.curvatures[ul - 1].array() * work.r_pre[ul - 1].array();
    }
  }
}

Eigen::MatrixXd Mlp::outputs(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& X) const {
  check_parameters("Mlp::outputs", w);
  require(X.cols() == inputs(), "Mlp::outputs", "X", std::to_string(inputs()) + " features for " + label());
  MlpWorkspace work;
  const MatrixXd Xt = X.transpose();
  forward(w, Xt, work);
  return work.pre.back().transpose();
}

Eigen::MatrixXd Mlp::predict(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& X) const {
  MatrixXd out = outputs(w, X);
  if (options_.loss == Loss::mse) return out;
  if (out.cols() == 1) return out.unaryExpr([](double z) { return sigmoid(z); });
  Eigen::VectorXd p(out.cols());
  for (Index i = 0; i < out.rows(); ++i) {
    softmax_column(out.row(i).transpose(), p);
    out.row(i) = p.transpose();
  }
  return out;
}

double Mlp::loss(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& X,
                 const Eigen::Ref<const Eigen::VectorXd>& y) const {
  check_parameters("Mlp::loss", w);
  check_data("Mlp::loss", X.cols(), y);
  require(X.rows() == y.size() && y.size() > 0, "Mlp::loss", "y", "one entry per row of X (and at least one)");
  MlpWorkspace work;
  const MatrixXd Xt = X.transpose();
  return loss_columns(w, Xt, y, work);
}

double Mlp::log_likelihood(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& X,
                           const Eigen::Ref<const Eigen::VectorXd>& y, double noise_variance) const {
  require(noise_variance > 0.0 && std::isfinite(noise_variance), "Mlp::log_likelihood", "noise_variance", "finite and > 0");
  const double m = static_cast<double>(y.size());
  const double mean_loss = loss(w, X, y);
  if (options_.loss == Loss::cross_entropy) return -m * mean_loss;
  // sum ln N(y | a, s^2) = -RSS / (2 s^2) - m/2 ln(2 pi s^2), with RSS = m * MSE.
  return -0.5 * m * mean_loss / noise_variance - 0.5 * m * std::log(2.0 * std::numbers::pi * noise_variance);
}

MlpObjective::MlpObjective(const Mlp& model, const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& y)
    : model_(model), Xt_(X.transpose()), y_(y) {
  require(X.rows() == y.size() && y.size() > 0, "MlpObjective::MlpObjective", "y", "one entry per row of X (and at least one)");
  model_.check_data("MlpObjective::MlpObjective", X.cols(), y);
}

MlpObjective::MlpObjective(const Mlp& model, DataMatrix Xt, DataVector y, Columns)
    : model_(model), Xt_(std::move(Xt)), y_(std::move(y)) {
  require(Xt_.cols() == y_.size() && y_.size() > 0, "MlpObjective::from_columns", "y", "one entry per column of Xt (and at least one)");
  model_.check_data("MlpObjective::from_columns", Xt_.rows(), y_);
}

MlpObjective MlpObjective::from_columns(const Mlp& model, DataMatrix Xt, DataVector y) {
  return MlpObjective(model, std::move(Xt), std::move(y), Columns{});
}

void MlpObjective::gather(std::span<const Eigen::Index> rows) {
  require(!rows.empty(), "MlpObjective", "rows", "a non-empty minibatch");
  batch_X_.resize(Xt_.rows(), static_cast<Index>(rows.size()));
  batch_y_.resize(static_cast<Index>(rows.size()));
  for (std::size_t j = 0; j < rows.size(); ++j) {
    require(rows[j] >= 0 && rows[j] < objects(), "MlpObjective", "rows", "row indices in [0, objects)");
    batch_X_.col(static_cast<Index>(j)) = Xt_.col(rows[j]);
    batch_y_(static_cast<Index>(j)) = y_(rows[j]);
  }
}

bool MlpObjective::backpropagated_at(const Eigen::Ref<const Eigen::VectorXd>& w, std::span<const Eigen::Index> rows) const {
  // Bit equality (not ==, which takes -0 for 0 and never matches NaN): a hit must give the same bits.
  return backpropagated_ && std::equal(rows.begin(), rows.end(), backpropagated_rows_.begin(), backpropagated_rows_.end()) &&
         w.size() == backpropagated_w_.size() &&
         std::memcmp(w.data(), backpropagated_w_.data(), static_cast<std::size_t>(w.size()) * sizeof(double)) == 0;
}

void MlpObjective::remember_backpropagation(const Eigen::Ref<const Eigen::VectorXd>& w, std::span<const Eigen::Index> rows) {
  backpropagated_w_ = w;
  backpropagated_rows_.assign(rows.begin(), rows.end());
  backpropagated_ = true;
}

double MlpObjective::evaluate(const Eigen::Ref<const Eigen::VectorXd>& w) {
  model_.check_parameters("MlpObjective::evaluate", w);
  backpropagated_ = false;
  return model_.loss_columns(w, Xt_, y_, work_);
}

void MlpObjective::gradient(const Eigen::Ref<const Eigen::VectorXd>& w, Eigen::Ref<Eigen::VectorXd> gradient) {
  evaluate_with_gradient(w, gradient);
}

double MlpObjective::evaluate_with_gradient(const Eigen::Ref<const Eigen::VectorXd>& w, Eigen::Ref<Eigen::VectorXd> gradient) {
  model_.check_parameters("MlpObjective::evaluate_with_gradient", w);
  require(gradient.size() == w.size(), "MlpObjective::evaluate_with_gradient", "gradient", "the size of w");
  backpropagated_ = false;
  return model_.loss_gradient_columns(w, Xt_, y_, gradient, work_);
}

void MlpObjective::hessian_vector(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::VectorXd>& v,
                                  Eigen::Ref<Eigen::VectorXd> hessian_vector) {
  model_.check_parameters("MlpObjective::hessian_vector", w);
  require(v.size() == w.size() && hessian_vector.size() == w.size(), "MlpObjective::hessian_vector", "v", "the size of w");
  backpropagated_ = false;
  model_.hessian_vector_columns(w, v, Xt_, y_, hessian_vector, work_);
}

double MlpObjective::evaluate(const Eigen::Ref<const Eigen::VectorXd>& w, std::span<const Eigen::Index> rows) {
  model_.check_parameters("MlpObjective::evaluate", w);
  backpropagated_ = false;
  gather(rows);
  return model_.loss_columns(w, batch_X_, batch_y_, work_);
}

double MlpObjective::evaluate_with_gradient(const Eigen::Ref<const Eigen::VectorXd>& w, std::span<const Eigen::Index> rows,
                                            Eigen::Ref<Eigen::VectorXd> gradient) {
  model_.check_parameters("MlpObjective::evaluate_with_gradient", w);
  require(gradient.size() == w.size(), "MlpObjective::evaluate_with_gradient", "gradient", "the size of w");
  backpropagated_ = false;
  gather(rows);
  const double value = model_.loss_gradient_columns(w, batch_X_, batch_y_, gradient, work_);
  remember_backpropagation(w, rows);
  return value;
}

void MlpObjective::hessian_vector(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::VectorXd>& v,
                                  std::span<const Eigen::Index> rows, Eigen::Ref<Eigen::VectorXd> hessian_vector) {
  model_.check_parameters("MlpObjective::hessian_vector", w);
  require(v.size() == w.size() && hessian_vector.size() == w.size(), "MlpObjective::hessian_vector", "v", "the size of w");
  if (!backpropagated_at(w, rows)) {
    backpropagated_ = false;
    gather(rows);
    model_.hessian_vector_columns(w, v, batch_X_, batch_y_, hessian_vector, work_);
    remember_backpropagation(w, rows);
    return;
  }
  model_.hessian_vector_backpropagated(w, v, batch_X_, hessian_vector, work_);
}

double MlpObjective::evaluate_with_gradient(const Eigen::Ref<const Eigen::VectorXd>& w, Eigen::Index first, Eigen::Index count,
                                            Eigen::Ref<Eigen::VectorXd> gradient) {
  model_.check_parameters("MlpObjective::evaluate_with_gradient", w);
  require(gradient.size() == w.size(), "MlpObjective::evaluate_with_gradient", "gradient", "the size of w");
  require(first >= 0 && count >= 1 && first + count <= objects(), "MlpObjective::evaluate_with_gradient", "first, count",
          "a non-empty block of rows inside [0, objects)");
  backpropagated_ = false;
  return model_.loss_gradient_columns(w, Xt_.middleCols(first, count), y_.segment(first, count), gradient, work_);
}

}  // namespace msweep
