// Hypergradients through an inner optimization (docs/science.md, hyperparameter optimization):
// the model's parameters theta are trained by a FIXED number of full-batch gradient steps on an
// inner loss L(theta, h), and the hyperparameters h (log standard deviations of a Gaussian prior,
// one per parameter group) are chosen to MAXIMIZE a criterion Q(theta_T(h), h) (cross-validation
// or the evidence bound; models/hyperprior implements both for the MLP family).
//
// Three hypergradient estimates of dQ/dh, all in terms of the problem's Hessian-vector products
// H v = d2L/dtheta2 v and the transposed mixed derivative M^T v = (d2L/dtheta dh)^T v:
// - greedy (Luketina et al. 2016): the one-step lookahead d/dh Q(theta - lr grad L(theta, h), h)
//   = dQ/dh - lr M^T dQ/dtheta', taken at every inner step;
// - HOAG (Pedregosa 2016): implicit differentiation at theta_T as if it were the minimizer,
//   dQ/dh - M^T q with H q = dQ/dtheta solved by conjugate gradient to a relative tolerance
//   that shrinks over outer iterations (1e-3 x 0.9^j);
// - DrMAD (Fu et al. 2016): the exact reverse pass through the gradient steps, with the stored
//   trajectory replaced by the straight line from theta_0 to theta_T and the first 5% of the
//   trajectory skipped. The exact reverse pass (stored trajectory) is here too as the reference.
//
// The outer loop (optimize_hyperparameters) ascends Q with step size g_h, keeps h inside its
// limits by clipping (dividing g_h by 10 on each clip, at most 10 times), and records a diverged
// inner training or a non-finite hypergradient as Termination::numerical_failure: a status,
// never an exception. calibrate_step_size picks g_h from {r 10^s : r in {1, 2.5, 5, 7.5}} by
// short runs. Nothing here knows a model: problems implement BilevelProblem.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "msweep/core/termination.hpp"

namespace msweep {

// The two levels of a hyperparameter problem. theta has parameters() entries, h has
// hyperparameters() entries. Implementations are deterministic functions of their arguments
// (a fixed pool of noise draws, fixed data splits), so hypergradients can be checked against
// finite differences and results reproduce bitwise.
class BilevelProblem {
 public:
  virtual ~BilevelProblem() = default;
  virtual Eigen::Index parameters() const = 0;
  virtual Eigen::Index hyperparameters() const = 0;
  // L(theta, h), minimized by the inner training; its gradient in theta when `gradient` is set.
  virtual double inner_loss(const Eigen::VectorXd& theta, const Eigen::VectorXd& h, Eigen::VectorXd* gradient) = 0;
  // (d2L / dtheta2) v.
  virtual void inner_hessian_vector(const Eigen::VectorXd& theta, const Eigen::VectorXd& h, const Eigen::VectorXd& v,
                                    Eigen::VectorXd& out) = 0;
  // (d2L / dtheta dh)^T v: one entry per hyperparameter.
  virtual Eigen::VectorXd mixed_transpose_vector(const Eigen::VectorXd& theta, const Eigen::VectorXd& h,
                                                 const Eigen::VectorXd& v) = 0;
  // Q(theta, h), maximized over h; its partial gradients when the pointers are set.
  virtual double criterion(const Eigen::VectorXd& theta, const Eigen::VectorXd& h, Eigen::VectorXd* d_theta,
                           Eigen::VectorXd* d_h) = 0;
};

// The inner training: `steps` full-batch gradient steps theta <- theta - lr grad L(theta, h).
struct InnerTraining {
  Eigen::Index steps = 100;
  double learning_rate = 1e-3;
};

// Trains theta (in: theta_0, out: theta_T). numerical_failure when L or its gradient becomes
// non-finite (theta is then the last finite point); budget_spent otherwise. When `trajectory` is
// set it receives theta_0 .. theta_{T-1} (what the exact reverse pass needs: O(T p) memory).
FitSummary train_inner(BilevelProblem& problem, const Eigen::VectorXd& h, Eigen::VectorXd& theta,
                       const InnerTraining& training, std::vector<Eigen::VectorXd>* trajectory = nullptr);

struct Hypergradient {
  double criterion = std::numeric_limits<double>::quiet_NaN();  // Q where the estimate was taken
  Eigen::VectorXd gradient;                                      // estimate of dQ/dh
  Eigen::Index solver_iterations = 0;  // HOAG: conjugate-gradient iterations; reverse passes: reverse steps
  double relative_residual = 0.0;      // HOAG: ||H q - g|| / ||g|| at the end
  bool negative_curvature = false;     // HOAG: CG met p^T H p <= 0 (a non-convex L) and stopped there
};

// Greedy: Q(theta', h) and d/dh Q(theta', h) with theta' = theta - lr grad L(theta, h) (exact).
Hypergradient greedy_hypergradient(BilevelProblem& problem, const Eigen::VectorXd& theta, const Eigen::VectorXd& h,
                                   double learning_rate);

// HOAG at theta (the end of the inner training): dQ/dh - M^T q, H q = dQ/dtheta by conjugate
// gradient until ||H q - g|| <= tolerance ||g|| or max_iterations (0: parameters()).
Hypergradient hoag_hypergradient(BilevelProblem& problem, const Eigen::VectorXd& theta, const Eigen::VectorXd& h,
                                 double tolerance, Eigen::Index max_iterations = 0);

// Exact reverse-mode hypergradient of Q(theta_T(h), h) through the training's steps, given the
// stored trajectory theta_0 .. theta_{T-1} (train_inner's) and theta_T.
Hypergradient unrolled_hypergradient(BilevelProblem& problem, const Eigen::VectorXd& h,
                                     const std::vector<Eigen::VectorXd>& trajectory, const Eigen::VectorXd& theta_final,
                                     const InnerTraining& training);

// DrMAD: the same reverse pass with theta_t replaced by theta_0 + (t / T)(theta_T - theta_0),
// stopping before the first ceil(skip_fraction T) steps. Exact when T = 1 and skip_fraction = 0;
// otherwise an approximation whose error grows with the trajectory's curvature.
Hypergradient drmad_hypergradient(BilevelProblem& problem, const Eigen::VectorXd& h, const Eigen::VectorXd& theta_initial,
                                  const Eigen::VectorXd& theta_final, const InnerTraining& training,
                                  double skip_fraction = 0.05);

enum class HypergradientMethod { greedy, hoag, drmad };
const char* to_string(HypergradientMethod method);  // "greedy", "hoag", "drmad"

struct HyperLimits {
  double low = -2.5, high = 10.5;  // the seed's limits on the synthetic set (larger sets: -5, 11)
};

struct HpoOptions {
  HypergradientMethod method = HypergradientMethod::hoag;
  Eigen::Index outer_iterations = 50;
  InnerTraining inner;
  double step_size = 0.1;          // g_h: h <- h + g_h dQ/dh (greedy: at every inner step)
  HyperLimits limits;
  int max_step_reductions = 10;    // each clip divides g_h by 10, at most this many times
  double hoag_tolerance = 1e-3;    // CG relative tolerance at outer iteration 0 ...
  double hoag_tolerance_decay = 0.9;  // ... times this per outer iteration
  Eigen::Index cg_max_iterations = 0;  // 0: parameters()
  double drmad_skip_fraction = 0.05;
};

// termination: budget_spent after outer_iterations, numerical_failure when an inner training
// diverged or a hypergradient was non-finite (the trajectory so far and the best point are kept).
struct HpoSummary : FitSummary {
  std::vector<double> criterion;    // Q_j after the inner training of outer iteration j
  Eigen::VectorXd h;                // the hyperparameters at the end
  Eigen::VectorXd best_h;           // those of the best Q_j (for greedy: at the end of that pass)
  Eigen::VectorXd best_theta;       // theta_T of the best Q_j
  double best_criterion = -std::numeric_limits<double>::infinity();
  Eigen::Index best_iteration = -1;
  double step_size = 0.0;           // g_h at the end (after reductions)
  Eigen::Index step_reductions = 0;
};

// Outer iterations j = 0 .. J-1: train from theta_0 with h_j (greedy: updating h at every step),
// record Q_j, then step h along the hypergradient (not after the last one).
HpoSummary optimize_hyperparameters(BilevelProblem& problem, const Eigen::VectorXd& theta_initial,
                                    const Eigen::VectorXd& h_initial, const HpoOptions& options);

// One random-search trial: train from theta_0 with h, return Q(theta_T, h) (NaN if training diverged).
double evaluate_hyperparameters(BilevelProblem& problem, const Eigen::VectorXd& theta_initial, const Eigen::VectorXd& h,
                                const InnerTraining& training, Eigen::VectorXd* theta_final = nullptr);

// Step-size calibration: every g_h = r 10^s, r in {7.5, 5, 2.5, 1}, s = max_exponent down to
// min_exponent, runs `iterations` outer iterations; the largest best Q wins (ties: the larger
// g_h). Candidates that diverge are skipped; returns NaN if all do.
struct StepCalibration {
  double step_size = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> candidates, best_criteria;  // every candidate and its best Q (NaN: diverged)
};
StepCalibration calibrate_step_size(BilevelProblem& problem, const Eigen::VectorXd& theta_initial,
                                    const Eigen::VectorXd& h_initial, HpoOptions options, Eigen::Index iterations,
                                    int min_exponent = -4, int max_exponent = 1);

// Convergence as the seed reports it: the first j with (Q_j - Q_0) / (max Q - Q_0) >= fraction
// (0 when Q never rises above Q_0); -1 for an empty trajectory. Non-finite entries are ignored.
Eigen::Index iterations_to_fraction(const std::vector<double>& criterion, double fraction = 0.99);

// Best-so-far curve: out_j = max(Q_0 .. Q_j), ignoring non-finite entries (NaN until the first finite one).
std::vector<double> best_so_far(const std::vector<double>& criterion);

}  // namespace msweep
