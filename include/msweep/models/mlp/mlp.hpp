// Multilayer perceptron on Eigen (docs/science.md#neural-networks-and-optimizers): any number of layers, one hidden
// activation, optional biases, MSE or (softmax / logistic) cross-entropy loss. The linear and
// logistic models are the zero-hidden-layer case.
//
// All parameters live in ONE flat Eigen::VectorXd w so optimizers and experiments see a
// single vector; layers are Eigen::Map views into it. Layout, layer by layer from the input:
// W_l (outputs x inputs, column-major), then b_l (outputs) when biases are on.
//
// Internally a batch is stored feature-major (features x objects, one object per column) so a
// minibatch gather copies contiguous columns and every layer is one GEMM: A_l = W_l H_{l-1} + b_l.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "msweep/core/random.hpp"
#include "msweep/data/dataset.hpp"

namespace msweep {

enum class Activation { identity, tanh, relu, sigmoid, softplus };
enum class Loss {
  mse,            // mean over objects of (a - y)^2; one output
  cross_entropy,  // one output: logistic, y in {0, 1}; K >= 2 outputs: softmax, y in {0..K-1}
};

std::string to_string(Activation activation);
std::string to_string(Loss loss);
Activation activation_from_string(std::string_view name);  // throws ArgumentError listing the choices
Loss loss_from_string(std::string_view name);              // "mse" or "cross-entropy"

struct MlpOptions {
  // Widths from input to output, e.g. {13, 20, 1}; two entries give the linear / logistic model.
  std::vector<Eigen::Index> layers;
  Activation activation = Activation::tanh;  // every hidden layer; the output layer is affine
  Loss loss = Loss::mse;
  bool bias = true;        // b_l on every layer (false: pure linear maps, e.g. 200 parameters for 200-1)
  double init_gain = 1.0;  // Glorot-uniform W ~ U(-g sqrt(6/(in+out)), +g sqrt(6/(in+out))); biases start at 0
};

// Buffers reused between calls so a training step allocates nothing once sizes settle.
struct MlpWorkspace {
  std::vector<Eigen::MatrixXd> pre, post;      // A_l and H_l = f(A_l), l = 0..L (post[0] unused: the input)
  std::vector<Eigen::MatrixXd> delta;          // dL/dA_l
  std::vector<Eigen::MatrixXd> back;           // W_{l+1}^T dL/dA_{l+1} (hidden layers), kept for the R-operator
  std::vector<Eigen::MatrixXd> slopes;         // f'(A_l) (hidden layers)
  std::vector<Eigen::MatrixXd> curvatures;     // f''(A_l), filled by the first Hessian-vector product at a point
  bool curvatures_current = false;
  std::vector<Eigen::MatrixXd> r_pre, r_post, r_delta;  // R-operator images for Hessian-vector products
  Eigen::MatrixXd scratch2;
};

class Mlp {
 public:
  explicit Mlp(MlpOptions options);  // throws ArgumentError on invalid options

  const MlpOptions& options() const { return options_; }
  Eigen::Index inputs() const { return options_.layers.front(); }
  Eigen::Index outputs() const { return options_.layers.back(); }
  int weight_layers() const { return static_cast<int>(options_.layers.size()) - 1; }
  Eigen::Index parameter_count() const { return parameter_count_; }
  std::string label() const;  // widths joined by '-', e.g. "13-20-1"

  // Views of layer l (1-based, l = 1..weight_layers()) inside a flat parameter vector.
  Eigen::Map<const Eigen::MatrixXd> weights(const Eigen::Ref<const Eigen::VectorXd>& w, int l) const;
  Eigen::Map<const Eigen::VectorXd> biases(const Eigen::Ref<const Eigen::VectorXd>& w, int l) const;  // empty without biases
  Eigen::Index weight_offset(int l) const { return offsets_[static_cast<std::size_t>(l)]; }

  // Glorot-uniform weights and zero biases drawn from `rng` (portable: RandomStream only).
  Eigen::VectorXd initial_parameters(RandomStream& rng) const;

  // Public entry points take X as objects x features (the Dataset convention) and y with one
  // entry per object (targets, or class indices for cross-entropy).
  Eigen::MatrixXd outputs(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& X) const;  // objects x outputs, before softmax
  // Regression: the outputs; cross-entropy: class probabilities (objects x K; one column P(y=1) for logistic).
  Eigen::MatrixXd predict(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& X) const;
  double loss(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& X,
              const Eigen::Ref<const Eigen::VectorXd>& y) const;  // mean loss per object
  // sum_i ln p(y_i | x_i, w): categorical for cross-entropy, N(a_i, noise_variance) for MSE.
  double log_likelihood(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& X,
                        const Eigen::Ref<const Eigen::VectorXd>& y, double noise_variance = 1.0) const;

  // Feature-major kernels (Xt: features x objects). Internals assume valid input (checked by
  // the public entry points and MlpObjective). Cost O(b * p) per call for b objects.
  double loss_columns(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& Xt,
                      const Eigen::Ref<const Eigen::VectorXd>& y, MlpWorkspace& work) const;
  // Mean loss and its gradient by hand-written backpropagation; ~3x the forward cost.
  double loss_gradient_columns(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& Xt,
                               const Eigen::Ref<const Eigen::VectorXd>& y, Eigen::Ref<Eigen::VectorXd> gradient,
                               MlpWorkspace& work) const;
  // Exact H v by Pearlmutter's R-operator (forward and backward R passes); ~2x the gradient cost.
  void hessian_vector_columns(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::VectorXd>& v,
                              const Eigen::Ref<const Eigen::MatrixXd>& Xt, const Eigen::Ref<const Eigen::VectorXd>& y,
                              Eigen::Ref<Eigen::VectorXd> hessian_vector, MlpWorkspace& work) const;
  // The same H v at the w and Xt of the last loss_gradient_columns or hessian_vector_columns call
  // on `work` (the caller guarantees they are the same): only the R passes run, no forward pass
  // and no activation functions after the first product, so a gradient and several products at
  // one point cost about a gradient plus two GEMM-only passes each. Bitwise equal to
  // hessian_vector_columns.
  void hessian_vector_backpropagated(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::VectorXd>& v,
                                     const Eigen::Ref<const Eigen::MatrixXd>& Xt, Eigen::Ref<Eigen::VectorXd> hessian_vector,
                                     MlpWorkspace& work) const;

  // Throws ArgumentError naming `function` unless X, y and w fit this network (and labels are classes).
  void check_data(const char* function, Eigen::Index features, const Eigen::Ref<const Eigen::VectorXd>& y) const;
  void check_parameters(const char* function, const Eigen::Ref<const Eigen::VectorXd>& w) const;

 private:
  void forward(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& Xt, MlpWorkspace& work) const;
  // Forward pass and backpropagation of dL/dA_l (the gradient too when `gradient` is non-null),
  // keeping in `work` what the R-operator needs. Returns the mean loss.
  double backpropagate(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::MatrixXd>& Xt,
                       const Eigen::Ref<const Eigen::VectorXd>& y, Eigen::Ref<Eigen::VectorXd>* gradient, MlpWorkspace& work) const;
  // Mean loss of the output pre-activations and, when `delta` is non-null, dL/dA_L.
  double output_loss(const Eigen::MatrixXd& out, const Eigen::Ref<const Eigen::VectorXd>& y, Eigen::MatrixXd* delta) const;

  MlpOptions options_;
  std::vector<Eigen::Index> offsets_;  // offsets_[l]: start of W_l; offsets_[0] unused
  Eigen::Index parameter_count_ = 0;
};

// The training objective L(w) = mean loss over a fixed data set, in the shape the optimizers of
// optim/ expect (value, gradient, evaluate_with_gradient, hessian_vector, minibatches by row).
// Keeps a feature-major copy of X. Not thread-safe: calls share one workspace.
class MlpObjective {
 public:
  MlpObjective(const Mlp& model, const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& y);
  // Data already in the objective's layout, features x objects (one column per object), kept as
  // given: a view of storage the ranks of a node share is not copied.
  static MlpObjective from_columns(const Mlp& model, DataMatrix Xt, DataVector y);

  const Mlp& model() const { return model_; }
  Eigen::Index parameters() const { return model_.parameter_count(); }
  Eigen::Index objects() const { return Xt_.cols(); }

  // Whole data set.
  double evaluate(const Eigen::Ref<const Eigen::VectorXd>& w);
  void gradient(const Eigen::Ref<const Eigen::VectorXd>& w, Eigen::Ref<Eigen::VectorXd> gradient);
  double evaluate_with_gradient(const Eigen::Ref<const Eigen::VectorXd>& w, Eigen::Ref<Eigen::VectorXd> gradient);
  void hessian_vector(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::VectorXd>& v,
                      Eigen::Ref<Eigen::VectorXd> hessian_vector);

  // A minibatch given as row indices of X (mean over those rows).
  double evaluate(const Eigen::Ref<const Eigen::VectorXd>& w, std::span<const Eigen::Index> rows);
  double evaluate_with_gradient(const Eigen::Ref<const Eigen::VectorXd>& w, std::span<const Eigen::Index> rows,
                                Eigen::Ref<Eigen::VectorXd> gradient);
  // After a gradient or product at the same w and rows (equal values), only the R passes run:
  // the entropy step's gradient and two products share one forward pass; same bits either way.
  void hessian_vector(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::VectorXd>& v,
                      std::span<const Eigen::Index> rows, Eigen::Ref<Eigen::VectorXd> hessian_vector);
  // A contiguous block of rows [first, first + count): no copy of the data.
  double evaluate_with_gradient(const Eigen::Ref<const Eigen::VectorXd>& w, Eigen::Index first, Eigen::Index count,
                                Eigen::Ref<Eigen::VectorXd> gradient);

 private:
  struct Columns {};
  MlpObjective(const Mlp& model, DataMatrix Xt, DataVector y, Columns);
  void gather(std::span<const Eigen::Index> rows);
  bool backpropagated_at(const Eigen::Ref<const Eigen::VectorXd>& w, std::span<const Eigen::Index> rows) const;
  void remember_backpropagation(const Eigen::Ref<const Eigen::VectorXd>& w, std::span<const Eigen::Index> rows);

  Mlp model_;
  DataMatrix Xt_;  // features x objects
  DataVector y_;
  Eigen::MatrixXd batch_X_;
  Eigen::VectorXd batch_y_;
  MlpWorkspace work_;
  // The w and minibatch rows whose backpropagation work_ holds, if `backpropagated_` (cleared by
  // every call that overwrites work_ otherwise).
  bool backpropagated_ = false;
  Eigen::VectorXd backpropagated_w_;
  std::vector<Eigen::Index> backpropagated_rows_;
};

}  // namespace msweep
