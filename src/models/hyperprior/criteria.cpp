#include "msweep/models/hyperprior/criteria.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

#include "msweep/core/error.hpp"
#include "msweep/core/random.hpp"
#include "msweep/data/dataset.hpp"

namespace msweep {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;

std::vector<Index> prior_groups(const Mlp& model, PriorGrouping grouping) {
  const Index p = model.parameter_count();
  std::vector<Index> group_of(static_cast<std::size_t>(p), 0);
  if (grouping == PriorGrouping::per_parameter) {
    std::iota(group_of.begin(), group_of.end(), Index{0});
  } else if (grouping == PriorGrouping::per_layer) {
    // Layer l's W_l and b_l occupy [weight_offset(l), weight_offset(l + 1)).
    for (int l = 1; l <= model.weight_layers(); ++l) {
      const Index end = l < model.weight_layers() ? model.weight_offset(l + 1) : p;
      for (Index j = model.weight_offset(l); j < end; ++j) group_of[static_cast<std::size_t>(j)] = l - 1;
    }
  }
  return group_of;
}

Index group_count(const std::vector<Index>& group_of) {
  return group_of.empty() ? 0 : *std::max_element(group_of.begin(), group_of.end()) + 1;
}

NegativeLogLikelihood::NegativeLogLikelihood(const Mlp& model, const Eigen::Ref<const MatrixXd>& X,
                                             const Eigen::Ref<const VectorXd>& y, double noise_variance)
    : objective_(model, X, y) {
  require(noise_variance > 0.0 && std::isfinite(noise_variance), "NegativeLogLikelihood", "noise_variance", "finite and > 0");
  const double n = static_cast<double>(y.size());
  if (model.options().loss == Loss::mse) {
    scale_ = n / (2.0 * noise_variance);
    constant_ = 0.5 * n * std::log(2.0 * std::numbers::pi * noise_variance);
  } else {
    scale_ = n;
    constant_ = 0.0;
  }
}

double NegativeLogLikelihood::value(const VectorXd& w, VectorXd* gradient) {
  if (!gradient) return scale_ * objective_.evaluate(w) + constant_;
  gradient->resize(w.size());
  const double loss = objective_.evaluate_with_gradient(w, *gradient);
  *gradient *= scale_;
  return scale_ * loss + constant_;
}

void NegativeLogLikelihood::hessian_vector(const VectorXd& w, const VectorXd& v, VectorXd& out) {
  out.resize(w.size());
  objective_.hessian_vector(w, v, out);
  out *= scale_;
}

double log_prior(const VectorXd& w, const VectorXd& precision) {
  // ln N(w | 0, 1/a) = -a w^2 / 2 + ln(a) / 2 - ln(2 pi) / 2.
  return (-0.5 * precision.array() * w.array().square() + 0.5 * precision.array().log()).sum() -
         0.5 * static_cast<double>(w.size()) * std::log(2.0 * std::numbers::pi);
}

namespace {

void check_groups(const char* function, const std::vector<Index>& group_of, Index parameters) {
  require(static_cast<Index>(group_of.size()) == parameters, function, "group_of", "one group index per model parameter");
  for (const Index g : group_of) require(g >= 0, function, "group_of", "group indices >= 0");
}

void check_theta(const char* function, const VectorXd& theta, Index parameters, const VectorXd& h, Index groups) {
  require(theta.size() == parameters, function, "theta", std::to_string(parameters) + " entries");
  require(h.size() == groups, function, "h", std::to_string(groups) + " entries");
}

// e^{-2 h_g(j)} per parameter.
VectorXd precision_of(const VectorXd& h, const std::vector<Index>& group_of) {
  return (-2.0 * expand_groups(h, group_of).array()).exp().matrix();
}

}  // namespace

CrossValidationProblem::CrossValidationProblem(const Mlp& model, const Eigen::Ref<const MatrixXd>& X,
                                               const Eigen::Ref<const VectorXd>& y, std::vector<Index> group_of,
                                               int folds, std::uint64_t split_seed, double validation_fraction,
                                               double noise_variance)
    : group_of_(std::move(group_of)), groups_(group_count(group_of_)), model_parameters_(model.parameter_count()) {
  const char* f = "CrossValidationProblem";
  check_groups(f, group_of_, model_parameters_);
  require(folds >= 1, f, "folds", ">= 1");
  require(validation_fraction > 0.0 && validation_fraction < 1.0, f, "validation_fraction", "in (0, 1)");
  const Index m = X.rows();
  require(m >= 2 && y.size() == m, f, "X, y", "at least two objects and one target per row");
  const Index validation = std::clamp<Index>(std::llround(validation_fraction * static_cast<double>(m)), 1, m - 1);
  // One stream draws every fold's permutation in turn: fold q's split is fixed by the seed.
  RandomStream rng(split_seed);
  std::vector<Index> order(static_cast<std::size_t>(m));
  folds_.reserve(static_cast<std::size_t>(folds));
  for (int q = 0; q < folds; ++q) {
    std::iota(order.begin(), order.end(), Index{0});
    rng.shuffle(order.begin(), order.end());
    std::vector<Index> val(order.begin(), order.begin() + validation), train(order.begin() + validation, order.end());
    std::sort(val.begin(), val.end());
    std::sort(train.begin(), train.end());
    const double weight = static_cast<double>(train.size()) / (static_cast<double>(folds) * static_cast<double>(val.size()));
    NegativeLogLikelihood train_nll(model, take_rows(X, train), take_entries(y, train), noise_variance);
    NegativeLogLikelihood val_nll(model, take_rows(X, val), take_entries(y, val), noise_variance);
    folds_.push_back(Fold{std::move(train), std::move(val), std::move(train_nll), std::move(val_nll), weight});
  }
}

const std::vector<Index>& CrossValidationProblem::training_rows(int fold) const {
  return folds_.at(static_cast<std::size_t>(fold)).train;
}
const std::vector<Index>& CrossValidationProblem::validation_rows(int fold) const {
  return folds_.at(static_cast<std::size_t>(fold)).validation;
}

VectorXd CrossValidationProblem::initial_parameters(const VectorXd& w0) const {
  require(w0.size() == model_parameters_, "CrossValidationProblem::initial_parameters", "w0", "one entry per model parameter");
  return w0.replicate(static_cast<Index>(folds_.size()), 1);
}

VectorXd CrossValidationProblem::fold_parameters(const VectorXd& theta, int fold) const {
  require(theta.size() == parameters(), "CrossValidationProblem::fold_parameters", "theta", "parameters() entries");
  return theta.segment(static_cast<Index>(fold) * model_parameters_, model_parameters_);
}

double CrossValidationProblem::inner_loss(const VectorXd& theta, const VectorXd& h, VectorXd* gradient) {
  check_theta("CrossValidationProblem::inner_loss", theta, parameters(), h, groups_);
  const VectorXd precision = precision_of(h, group_of_);
  if (gradient) gradient->resize(theta.size());
  double total = 0.0;
  VectorXd g;
  for (std::size_t q = 0; q < folds_.size(); ++q) {
    const Index at = static_cast<Index>(q) * model_parameters_;
    const VectorXd w = theta.segment(at, model_parameters_);
    total += folds_[q].train_nll.value(w, gradient ? &g : nullptr) - log_prior(w, precision);
    if (gradient) gradient->segment(at, model_parameters_) = g + precision.cwiseProduct(w);
  }
  return total;
}

void CrossValidationProblem::inner_hessian_vector(const VectorXd& theta, const VectorXd& h, const VectorXd& v, VectorXd& out) {
  check_theta("CrossValidationProblem::inner_hessian_vector", theta, parameters(), h, groups_);
  const VectorXd precision = precision_of(h, group_of_);
  out.resize(theta.size());
  VectorXd hv;
  for (std::size_t q = 0; q < folds_.size(); ++q) {
    const Index at = static_cast<Index>(q) * model_parameters_;
    const VectorXd v_q = v.segment(at, model_parameters_);
    folds_[q].train_nll.hessian_vector(theta.segment(at, model_parameters_), v_q, hv);
    out.segment(at, model_parameters_) = hv + precision.cwiseProduct(v_q);
  }
}

VectorXd CrossValidationProblem::mixed_transpose_vector(const VectorXd& theta, const VectorXd& h, const VectorXd& v) {
  check_theta("CrossValidationProblem::mixed_transpose_vector", theta, parameters(), h, groups_);
  // d/dh_j of dL/dw_j = w_j e^{-2 h_j} is -2 w_j e^{-2 h_j}, summed over folds and the group.
  const VectorXd precision = precision_of(h, group_of_);
  VectorXd per_parameter = VectorXd::Zero(model_parameters_);
  for (std::size_t q = 0; q < folds_.size(); ++q) {
    const Index at = static_cast<Index>(q) * model_parameters_;
    per_parameter.array() += -2.0 * precision.array() * theta.segment(at, model_parameters_).array() *
                             v.segment(at, model_parameters_).array();
  }
  return sum_groups(per_parameter, group_of_, groups_);
}

double CrossValidationProblem::criterion(const VectorXd& theta, const VectorXd& h, VectorXd* d_theta, VectorXd* d_h) {
  check_theta("CrossValidationProblem::criterion", theta, parameters(), h, groups_);
  if (d_theta) d_theta->resize(theta.size());
  if (d_h) *d_h = VectorXd::Zero(groups_);
  double total = 0.0;
  VectorXd g;
  for (std::size_t q = 0; q < folds_.size(); ++q) {
    const Index at = static_cast<Index>(q) * model_parameters_;
    const double nll = folds_[q].validation_nll.value(theta.segment(at, model_parameters_), d_theta ? &g : nullptr);
    total -= folds_[q].weight * nll;
    if (d_theta) d_theta->segment(at, model_parameters_) = -folds_[q].weight * g;
  }
  return total;
}

EvidenceBoundProblem::EvidenceBoundProblem(const Mlp& model, const Eigen::Ref<const MatrixXd>& X,
                                           const Eigen::Ref<const VectorXd>& y, std::vector<Index> group_of,
                                           Index pool_draws, std::uint64_t pool_seed, double noise_variance)
    : nll_(model, X, y, noise_variance),
      group_of_(std::move(group_of)),
      groups_(group_count(group_of_)),
      model_parameters_(model.parameter_count()) {
  check_groups("EvidenceBoundProblem", group_of_, model_parameters_);
  require(pool_draws >= 1, "EvidenceBoundProblem", "pool_draws", ">= 1");
  pool_ = normal_pool(model_parameters_, pool_draws, pool_seed);
}

VectorXd EvidenceBoundProblem::initial_parameters(const VectorXd& w0, double initial_log_std) const {
  require(w0.size() == model_parameters_, "EvidenceBoundProblem::initial_parameters", "w0", "one entry per model parameter");
  VectorXd theta(2 * model_parameters_);
  theta << w0, VectorXd::Constant(model_parameters_, initial_log_std);
  return theta;
}

DiagGaussian EvidenceBoundProblem::distribution(const VectorXd& theta) const {
  require(theta.size() == parameters(), "EvidenceBoundProblem::distribution", "theta", "parameters() entries");
  return DiagGaussian{theta.head(model_parameters_), theta.tail(model_parameters_)};
}

double EvidenceBoundProblem::inner_loss(const VectorXd& theta, const VectorXd& h, VectorXd* gradient) {
  check_theta("EvidenceBoundProblem::inner_loss", theta, parameters(), h, groups_);
  const DiagGaussian q = distribution(theta);
  const Index p = model_parameters_, draws = pool_.cols();
  const double inv_draws = 1.0 / static_cast<double>(draws);
  KlGradient kl_gradient;
  const double kl = kl_to_prior(q, expand_groups(h, group_of_), gradient ? &kl_gradient : nullptr);
  VectorXd w(p), g_w, d_mean = VectorXd::Zero(p), d_log_std = VectorXd::Zero(p);
  double expected_nll = 0.0;
  for (Index i = 0; i < draws; ++i) {
    reparameterized_sample(q, pool_.col(i), w);
    expected_nll += nll_.value(w, gradient ? &g_w : nullptr);
    if (gradient) accumulate_sample_gradient(q, pool_.col(i), g_w, d_mean, d_log_std);
  }
  if (gradient) {
    gradient->resize(2 * p);
    gradient->head(p) = inv_draws * d_mean + kl_gradient.d_mean;
    gradient->tail(p) = inv_draws * d_log_std + kl_gradient.d_log_std;
  }
  return inv_draws * expected_nll + kl;
}

void EvidenceBoundProblem::inner_hessian_vector(const VectorXd& theta, const VectorXd& h, const VectorXd& v, VectorXd& out) {
  check_theta("EvidenceBoundProblem::inner_hessian_vector", theta, parameters(), h, groups_);
  // Per draw, w_i = mu + sigma .* eps_i, g_i, H_i the NLL's gradient and Hessian at w_i; for
  // v = [a, b]: u_i = a + sigma .* eps_i .* b, r_i = H_i u_i, and
  //   (H v)_mu = mean_i r_i,  (H v)_s = mean_i [sigma .* eps_i .* (r_i + g_i .* b)];
  // the KL adds e^{-2h} .* a and 2 sigma^2 e^{-2h} .* b (its Hessian is diagonal).
  const DiagGaussian q = distribution(theta);
  const Index p = model_parameters_, draws = pool_.cols();
  const VectorXd sigma = q.log_std.array().exp().matrix();
  const VectorXd precision = precision_of(h, group_of_);
  const auto a = v.head(p), b = v.tail(p);
  VectorXd w(p), g_w, r, scaled(p), out_mean = VectorXd::Zero(p), out_log_std = VectorXd::Zero(p);
  for (Index i = 0; i < draws; ++i) {
    reparameterized_sample(q, pool_.col(i), w);
    scaled = sigma.cwiseProduct(pool_.col(i));
    nll_.value(w, &g_w);
    nll_.hessian_vector(w, a + scaled.cwiseProduct(b), r);
    out_mean += r;
    out_log_std.array() += scaled.array() * (r.array() + g_w.array() * b.array());
  }
  const double inv_draws = 1.0 / static_cast<double>(draws);
  out.resize(2 * p);
  out.head(p) = inv_draws * out_mean + precision.cwiseProduct(a);
  out.tail(p) = inv_draws * out_log_std + (2.0 * sigma.array().square() * precision.array() * b.array()).matrix();
}

VectorXd EvidenceBoundProblem::mixed_transpose_vector(const VectorXd& theta, const VectorXd& h, const VectorXd& v) {
  check_theta("EvidenceBoundProblem::mixed_transpose_vector", theta, parameters(), h, groups_);
  // Only the KL depends on h, per parameter: the mixed blocks are diagonal.
  const KlMixedDerivatives mixed = kl_mixed_derivatives(distribution(theta), expand_groups(h, group_of_));
  const Index p = model_parameters_;
  const VectorXd per_parameter = mixed.mean_prior.cwiseProduct(v.head(p)) + mixed.log_std_prior.cwiseProduct(v.tail(p));
  return sum_groups(per_parameter, group_of_, groups_);
}

double EvidenceBoundProblem::criterion(const VectorXd& theta, const VectorXd& h, VectorXd* d_theta, VectorXd* d_h) {
  // Q = ELBO = -L; its direct h dependence is through -KL.
  const double value = -inner_loss(theta, h, d_theta);
  if (d_theta) *d_theta = -*d_theta;
  if (d_h) {
    KlGradient kl_gradient;
    kl_to_prior(distribution(theta), expand_groups(h, group_of_), &kl_gradient);
    *d_h = -sum_groups(kl_gradient.d_prior_log_std, group_of_, groups_);
  }
  return value;
}

}  // namespace msweep
