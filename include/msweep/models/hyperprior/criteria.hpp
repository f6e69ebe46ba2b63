// The two hyperparameter criteria of docs/science.md (hyperparameter optimization) for an MLP
// (models/mlp; the linear model is its zero-hidden-layer case) under a Gaussian prior
// w_j ~ N(0, exp(2 h_g(j))) with one log standard deviation h_g per parameter group, as
// BilevelProblems (optim/hypergradient.hpp) the hypergradient methods optimize.
//
// Negative log-likelihood of n objects: NLL(w) = n c loss(w) + const with loss the MLP's mean
// loss, c = 1 / (2 sigma^2) and const = n/2 ln(2 pi sigma^2) for MSE with noise variance sigma^2,
// c = 1 and const = 0 for cross-entropy; ln p(w | h) = sum_j [-w_j^2 e^{-2 h_j} / 2 - h_j - ln(2 pi)/2].
//
// CrossValidationProblem (the original code's k-fold CV): k models, each on its own random
// split of the data into 75% training and 25% validation rows; theta = [w_1, ..., w_k];
//   L = sum_q [NLL_train_q(w_q) - ln p(w_q | h)],
//   Q = (1/k) sum_q (|train_q| / |val_q|) ln p(y_val_q | X_val_q, w_q)  (no direct h dependence).
// EvidenceBoundProblem: theta = [mu, s] of q(w) = N(mu, diag e^{2 s}) (models/variational), the
// expectation over q taken on a FIXED pool of P standard normal draws eps_i (normal_pool):
//   Q = ELBO = -(1/P) sum_i NLL(mu + e^s eps_i) - KL(q || N(0, e^{2 h})),  L = -Q.
// Costs per call: CV O(k m p) for value, gradient or H v; ELBO O(P m p) (P forward and backward
// passes, twice that for H v).
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <vector>

#include "msweep/models/mlp/mlp.hpp"
#include "msweep/models/variational/diag_gaussian.hpp"
#include "msweep/optim/hypergradient.hpp"

namespace msweep {

// Parameter groups of an MLP: one per parameter, one per weight layer (W_l and b_l), or one for all.
enum class PriorGrouping { per_parameter, per_layer, single };
std::vector<Eigen::Index> prior_groups(const Mlp& model, PriorGrouping grouping);
Eigen::Index group_count(const std::vector<Eigen::Index>& group_of);  // max + 1 (0 when empty)

// NLL of a data set as an MLP objective scaled to a log-likelihood (see above).
class NegativeLogLikelihood {
 public:
  NegativeLogLikelihood(const Mlp& model, const Eigen::Ref<const Eigen::MatrixXd>& X,
                        const Eigen::Ref<const Eigen::VectorXd>& y, double noise_variance = 1.0);
  Eigen::Index objects() const { return objective_.objects(); }
  double value(const Eigen::VectorXd& w, Eigen::VectorXd* gradient);  // gradient overwritten when set
  void hessian_vector(const Eigen::VectorXd& w, const Eigen::VectorXd& v, Eigen::VectorXd& out);

 private:
  MlpObjective objective_;
  double scale_, constant_;
};

// ln p(w | h) given the per-parameter precision e^{-2 h_g(j)}; its gradient in w is -precision .* w.
double log_prior(const Eigen::VectorXd& w, const Eigen::VectorXd& precision);

class CrossValidationProblem final : public BilevelProblem {
 public:
  // folds >= 1 random splits drawn from split_seed; each has round(validation_fraction m) >= 1
  // validation rows and at least one training row.
  CrossValidationProblem(const Mlp& model, const Eigen::Ref<const Eigen::MatrixXd>& X,
                         const Eigen::Ref<const Eigen::VectorXd>& y, std::vector<Eigen::Index> group_of, int folds,
                         std::uint64_t split_seed, double validation_fraction = 0.25, double noise_variance = 1.0);

  Eigen::Index parameters() const override { return static_cast<Eigen::Index>(folds_.size()) * model_parameters_; }
  Eigen::Index hyperparameters() const override { return groups_; }
  double inner_loss(const Eigen::VectorXd& theta, const Eigen::VectorXd& h, Eigen::VectorXd* gradient) override;
  void inner_hessian_vector(const Eigen::VectorXd& theta, const Eigen::VectorXd& h, const Eigen::VectorXd& v,
                            Eigen::VectorXd& out) override;
  Eigen::VectorXd mixed_transpose_vector(const Eigen::VectorXd& theta, const Eigen::VectorXd& h,
                                         const Eigen::VectorXd& v) override;
  double criterion(const Eigen::VectorXd& theta, const Eigen::VectorXd& h, Eigen::VectorXd* d_theta,
                   Eigen::VectorXd* d_h) override;

  int folds() const { return static_cast<int>(folds_.size()); }
  const std::vector<Eigen::Index>& training_rows(int fold) const;
  const std::vector<Eigen::Index>& validation_rows(int fold) const;
  // theta_0: the same network initialization w_0 in every fold.
  Eigen::VectorXd initial_parameters(const Eigen::VectorXd& w0) const;
  // Fold q's network inside theta.
  Eigen::VectorXd fold_parameters(const Eigen::VectorXd& theta, int fold) const;

 private:
  struct Fold {
    std::vector<Eigen::Index> train, validation;
    NegativeLogLikelihood train_nll, validation_nll;
    double weight;  // |train| / (k |validation|)
  };
  std::vector<Fold> folds_;
  std::vector<Eigen::Index> group_of_;
  Eigen::Index groups_, model_parameters_;
};

class EvidenceBoundProblem final : public BilevelProblem {
 public:
  EvidenceBoundProblem(const Mlp& model, const Eigen::Ref<const Eigen::MatrixXd>& X,
                       const Eigen::Ref<const Eigen::VectorXd>& y, std::vector<Eigen::Index> group_of,
                       Eigen::Index pool_draws, std::uint64_t pool_seed, double noise_variance = 1.0);

  Eigen::Index parameters() const override { return 2 * model_parameters_; }
  Eigen::Index hyperparameters() const override { return groups_; }
  double inner_loss(const Eigen::VectorXd& theta, const Eigen::VectorXd& h, Eigen::VectorXd* gradient) override;
  void inner_hessian_vector(const Eigen::VectorXd& theta, const Eigen::VectorXd& h, const Eigen::VectorXd& v,
                            Eigen::VectorXd& out) override;
  Eigen::VectorXd mixed_transpose_vector(const Eigen::VectorXd& theta, const Eigen::VectorXd& h,
                                         const Eigen::VectorXd& v) override;
  double criterion(const Eigen::VectorXd& theta, const Eigen::VectorXd& h, Eigen::VectorXd* d_theta,
                   Eigen::VectorXd* d_h) override;

  const Eigen::MatrixXd& pool() const { return pool_; }  // parameters x draws, one draw per column
  // theta_0 = [w0, initial_log_std] (the seed starts s at -2).
  Eigen::VectorXd initial_parameters(const Eigen::VectorXd& w0, double initial_log_std = -2.0) const;
  DiagGaussian distribution(const Eigen::VectorXd& theta) const;  // q(w) from theta

 private:
  NegativeLogLikelihood nll_;
  Eigen::MatrixXd pool_;
  std::vector<Eigen::Index> group_of_;
  Eigen::Index groups_, model_parameters_;
};

}  // namespace msweep
