#include "msweep/models/structure_graph/structure_graph.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numbers>

#include "msweep/core/error.hpp"
#include "msweep/core/math.hpp"
#include "msweep/optim/first_order.hpp"

namespace msweep {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool parse_index(std::string_view text, Eigen::Index& out) {
  text = trim(text);
  long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || text.empty()) return false;
  out = static_cast<Eigen::Index>(value);
  return true;
}

bool reads_input(BasisKind kind) { return kind == BasisKind::linear || kind == BasisKind::tanh || kind == BasisKind::relu; }

}  // namespace

BasisSpec parse_basis(std::string_view text) {
  const std::string_view name = text.substr(0, text.find(':'));
  BasisSpec basis;
  if (name == "zero") basis.kind = BasisKind::zero;
  else if (name == "const") basis.kind = BasisKind::constant;
  else if (name == "linear") basis.kind = BasisKind::linear;
  else if (name == "tanh") basis.kind = BasisKind::tanh;
  else if (name == "relu") basis.kind = BasisKind::relu;
  else
    throw ArgumentError("basis \"" + std::string(text) + "\": expected zero, const, linear, tanh or relu, optionally \":r\"");
  if (name.size() < text.size()) {
    if (!reads_input(basis.kind) || !parse_index(text.substr(name.size() + 1), basis.inputs) || basis.inputs < 1)
      throw ArgumentError("basis \"" + std::string(text) + "\": \":r\" (r >= 1 inputs) only after linear, tanh or relu");
  }
  return basis;
}

std::string basis_name(const BasisSpec& basis) {
  static const char* names[] = {"zero", "const", "linear", "tanh", "relu"};
  std::string name = names[static_cast<int>(basis.kind)];
  if (basis.inputs > 0) name += ":" + std::to_string(basis.inputs);
  return name;
}

EdgeSpec parse_edge(std::string_view text) {
  const auto arrow = text.find("<-"), colon = text.find(':');
  EdgeSpec edge;
  const auto fail = [&] {
    throw ArgumentError("edge \"" + std::string(text) + "\": expected \"TARGET<-SOURCE: basis basis ...\"");
  };
  if (arrow == std::string_view::npos || colon == std::string_view::npos || colon < arrow) fail();
  if (!parse_index(text.substr(0, arrow), edge.target) || !parse_index(text.substr(arrow + 2, colon - arrow - 2), edge.source)) fail();
  std::string_view rest = text.substr(colon + 1);
  while (!(rest = trim(rest)).empty()) {
    const auto space = std::min(rest.find(' '), rest.size());
    edge.bases.push_back(parse_basis(rest.substr(0, space)));
    rest.remove_prefix(space);
  }
  if (edge.bases.empty()) fail();
  return edge;
}

StructureGraph::StructureGraph(StructureGraphOptions options) : options_(std::move(options)) {
  const auto nodes = static_cast<Eigen::Index>(options_.widths.size()) + 1;
  require(options_.inputs >= 1, "StructureGraph", "options.inputs", ">= 1");
  require(nodes >= 2, "StructureGraph", "options.widths", "at least one node after the input");
  require(options_.widths.back() == 1, "StructureGraph", "options.widths", "an output node (the last) of width 1");
  for (auto d : options_.widths) require(d >= 1, "StructureGraph", "options.widths", "widths >= 1");
  const auto width = [&](Eigen::Index node) { return node == 0 ? options_.inputs : options_.widths[static_cast<std::size_t>(node - 1)]; };
  std::vector<bool> reached(static_cast<std::size_t>(nodes), false);
  for (std::size_t e = 0; e < options_.edges.size(); ++e) {
    const EdgeSpec& edge = options_.edges[e];
    const std::string name = "options.edges[" + std::to_string(e) + "]";
    require(edge.source >= 0 && edge.source < edge.target && edge.target < nodes, "StructureGraph", name.c_str(),
            "0 <= source < target < " + std::to_string(nodes));
    require(!edge.bases.empty(), "StructureGraph", name.c_str(), "at least one basis");
    reached[static_cast<std::size_t>(edge.target)] = true;
    edge_offset_.push_back(static_cast<Eigen::Index>(basis_edge_.size()));
    const auto K = static_cast<std::uint64_t>(edge.bases.size());
    require(vertex_count_ <= std::numeric_limits<std::uint64_t>::max() / K, "StructureGraph", "options.edges", "fewer than 2^64 vertices");
    vertex_count_ *= K;
    for (const BasisSpec& basis : edge.bases) {
      const Eigen::Index r = basis.inputs > 0 ? basis.inputs : width(edge.source);
      require(r <= width(edge.source), "StructureGraph", name.c_str(), "bases reading at most the source's " + std::to_string(width(edge.source)) + " components");
      const auto b = static_cast<Eigen::Index>(basis_edge_.size());
      basis_edge_.push_back(static_cast<Eigen::Index>(e));
      basis_inputs_.push_back(r);
      weight_offset_.push_back(weight_count_);
      const Eigen::Index d = width(edge.target);
      const Eigen::Index count = basis.kind == BasisKind::zero ? 0 : basis.kind == BasisKind::constant ? d : d * r + d;
      weight_count_ += count;
      basis_of_weight_.insert(basis_of_weight_.end(), static_cast<std::size_t>(count), b);
    }
  }
  for (Eigen::Index j = 1; j < nodes; ++j)
    require(reached[static_cast<std::size_t>(j)], "StructureGraph", "options.edges", "an edge into every node 1.." + std::to_string(nodes - 1));
}

Eigen::Index StructureGraph::choices(Eigen::Index edge) const {
  return static_cast<Eigen::Index>(options_.edges[static_cast<std::size_t>(edge)].bases.size());
}

std::vector<Eigen::Index> StructureGraph::vertex_choices(std::uint64_t index) const {
  require(index < vertex_count_, "StructureGraph::vertex_choices", "index", "< vertex_count()");
  std::vector<Eigen::Index> out(options_.edges.size());
  for (std::size_t e = out.size(); e-- > 0;) {
    const auto K = static_cast<std::uint64_t>(options_.edges[e].bases.size());
    out[e] = static_cast<Eigen::Index>(index % K);
    index /= K;
  }
  return out;
}

std::uint64_t StructureGraph::vertex_index(std::span<const Eigen::Index> choices) const {
  require(choices.size() == options_.edges.size(), "StructureGraph::vertex_index", "choices", "one per edge");
  std::uint64_t index = 0;
  for (std::size_t e = 0; e < choices.size(); ++e) {
    const auto K = static_cast<std::uint64_t>(options_.edges[e].bases.size());
    require(choices[e] >= 0 && static_cast<std::uint64_t>(choices[e]) < K, "StructureGraph::vertex_index", "choices", "each in [0, K_e)");
    index = index * K + static_cast<std::uint64_t>(choices[e]);
  }
  return index;
}

std::string StructureGraph::vertex_label(std::uint64_t index) const {
  const auto chosen = vertex_choices(index);
  std::string label;
  for (std::size_t e = 0; e < chosen.size(); ++e)
    label += (e ? "|" : "") + basis_name(options_.edges[e].bases[static_cast<std::size_t>(chosen[e])]);
  return label;
}

Eigen::VectorXd StructureGraph::vertex_gamma(std::uint64_t index) const {
  const auto chosen = vertex_choices(index);
  Eigen::VectorXd gamma = Eigen::VectorXd::Zero(bases());
  for (std::size_t e = 0; e < chosen.size(); ++e) gamma[edge_offset_[e] + chosen[e]] = 1.0;
  return gamma;
}

Eigen::Array<bool, Eigen::Dynamic, 1> StructureGraph::vertex_weights(std::uint64_t index) const {
  const Eigen::VectorXd gamma = vertex_gamma(index);
  Eigen::Array<bool, Eigen::Dynamic, 1> active(weight_count_);
  for (Eigen::Index j = 0; j < weight_count_; ++j) active[j] = gamma[basis_of_weight_[static_cast<std::size_t>(j)]] != 0.0;
  return active;
}

// Calls visit(basis, source node, global basis index, gamma_b) for every basis on an edge into
// `node` that can change f: zero bases and bases with weight exactly 0 (a vertex's unused
// choices) are skipped, so their d_gamma is not computed either (a fixed vertex needs none).
template <class Visit>
void StructureGraph::visit_bases_into(std::size_t node, const Eigen::Ref<const Eigen::VectorXd>& gamma, Visit&& visit) const {
  for (std::size_t e = 0; e < options_.edges.size(); ++e) {
    const EdgeSpec& edge = options_.edges[e];
    if (static_cast<std::size_t>(edge.target) != node) continue;
    for (std::size_t h = 0; h < edge.bases.size(); ++h) {
      const auto b = static_cast<std::size_t>(edge_offset_[e]) + h;
      const double g = gamma[static_cast<Eigen::Index>(b)];
      if (edge.bases[h].kind == BasisKind::zero || g == 0.0) continue;
      visit(edge.bases[h], static_cast<std::size_t>(edge.source), b, g);
    }
  }
}

Eigen::VectorXd StructureGraph::forward(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& w,
                                        const Eigen::Ref<const Eigen::VectorXd>& gamma, Workspace& ws) const {
  require(X.cols() == options_.inputs, "StructureGraph::forward", "X", std::to_string(options_.inputs) + " columns");
  require(w.size() == weight_count_, "StructureGraph::forward", "w", std::to_string(weight_count_) + " entries");
  require(gamma.size() == bases(), "StructureGraph::forward", "gamma", std::to_string(bases()) + " entries");
  const Eigen::Index m = X.rows();
  const std::size_t nodes = options_.widths.size() + 1;
  ws.nodes.resize(nodes);
  ws.basis_out.resize(basis_edge_.size());
  ws.pre.resize(basis_edge_.size());
  ws.nodes[0] = X;
  for (std::size_t j = 1; j < nodes; ++j) ws.nodes[j] = Eigen::MatrixXd::Zero(m, options_.widths[j - 1]);
  // Targets in increasing order: every source (< target) is complete before it is read.
  for (std::size_t j = 1; j < nodes; ++j) {
    visit_bases_into(j, gamma, [&](const BasisSpec& basis, std::size_t source, std::size_t b, double g) {
      const Eigen::Index d = options_.widths[j - 1];
      const double* p = w.data() + weight_offset_[b];
      if (basis.kind == BasisKind::constant) {
        ws.basis_out[b] = Eigen::VectorXd::Ones(m) * Eigen::Map<const Eigen::RowVectorXd>(p, d);
      } else {
        const Eigen::Index r = basis_inputs_[b];
        const Eigen::Map<const Eigen::MatrixXd> W(p, d, r);
        const Eigen::Map<const Eigen::RowVectorXd> bias(p + d * r, d);
        ws.pre[b] = ws.nodes[source].leftCols(r) * W.transpose();
        ws.pre[b].rowwise() += bias;
        if (basis.kind == BasisKind::linear) ws.basis_out[b] = ws.pre[b];
        else if (basis.kind == BasisKind::tanh) ws.basis_out[b] = ws.pre[b].array().tanh().matrix();
        else ws.basis_out[b] = ws.pre[b].cwiseMax(0.0);
      }
      ws.nodes[j] += g * ws.basis_out[b];
    });
  }
  return ws.nodes.back().col(0);
}

Eigen::VectorXd StructureGraph::predict(const Eigen::Ref<const Eigen::MatrixXd>& X, const Eigen::Ref<const Eigen::VectorXd>& w,
                                        const Eigen::Ref<const Eigen::VectorXd>& gamma) const {
  Workspace ws;
  return forward(X, w, gamma, ws);
}

void StructureGraph::backward(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::VectorXd>& gamma,
                              const Workspace& ws, const Eigen::Ref<const Eigen::VectorXd>& d_output,
                              Eigen::Ref<Eigen::VectorXd> d_w, Eigen::Ref<Eigen::VectorXd> d_gamma) const {
  const std::size_t nodes = options_.widths.size() + 1;
  require(ws.nodes.size() == nodes, "StructureGraph::backward", "workspace", "filled by forward()");
  const Eigen::Index m = ws.nodes[0].rows();
  require(d_output.size() == m, "StructureGraph::backward", "d_output", "one entry per object");
  require(d_w.size() == weight_count_ && d_gamma.size() == bases(), "StructureGraph::backward", "d_w, d_gamma", "weights() and bases() entries");
  std::vector<Eigen::MatrixXd> d_nodes(nodes);
  for (std::size_t j = 1; j < nodes; ++j) d_nodes[j] = Eigen::MatrixXd::Zero(m, options_.widths[j - 1]);
  d_nodes[nodes - 1] = d_output;  // the output node has width 1
  // Targets in decreasing order: a node's adjoint is complete once every edge out of it is done.
  for (std::size_t j = nodes - 1; j >= 1; --j) {
    visit_bases_into(j, gamma, [&](const BasisSpec& basis, std::size_t k, std::size_t b, double g) {
      const Eigen::Index d = options_.widths[j - 1];
      d_gamma[static_cast<Eigen::Index>(b)] += d_nodes[j].cwiseProduct(ws.basis_out[b]).sum();
      double* dp = d_w.data() + weight_offset_[b];
      if (basis.kind == BasisKind::constant) {
        Eigen::Map<Eigen::RowVectorXd>(dp, d) += g * d_nodes[j].colwise().sum();
        return;
      }
      Eigen::MatrixXd d_pre = g * d_nodes[j];
      if (basis.kind == BasisKind::tanh) d_pre.array() *= 1.0 - ws.basis_out[b].array().square();
      else if (basis.kind == BasisKind::relu) d_pre.array() *= (ws.pre[b].array() > 0.0).cast<double>();
      const Eigen::Index r = basis_inputs_[b];
      Eigen::Map<Eigen::MatrixXd>(dp, d, r).noalias() += d_pre.transpose() * ws.nodes[k].leftCols(r);
      Eigen::Map<Eigen::RowVectorXd>(dp + d * r, d) += d_pre.colwise().sum();
      if (k > 0) d_nodes[k].leftCols(r).noalias() += d_pre * Eigen::Map<const Eigen::MatrixXd>(w.data() + weight_offset_[b], d, r);
    });
  }
}

Eigen::VectorXd gumbel_draws(Eigen::Index size, RandomStream& rng) {
  Eigen::VectorXd g(size);
  for (Eigen::Index i = 0; i < size; ++i) {
    double u = rng.uniform();
    while (u <= 0.0) u = rng.uniform();  // ln 0 is not a Gumbel draw
    g[i] = -std::log(-std::log(u));
  }
  return g;
}

Eigen::VectorXd gumbel_softmax(const StructureGraph& graph, const Eigen::Ref<const Eigen::VectorXd>& logits,
                               const Eigen::Ref<const Eigen::VectorXd>& gumbel, double temperature) {
  require(logits.size() == graph.bases() && gumbel.size() == graph.bases(), "gumbel_softmax", "logits, gumbel", "bases() entries");
  require(temperature > 0.0, "gumbel_softmax", "temperature", "> 0");
  Eigen::VectorXd gamma(graph.bases());
  for (Eigen::Index e = 0; e < graph.edges(); ++e) {
    const Eigen::Index o = graph.basis_offset(e), K = graph.choices(e);
    const Eigen::ArrayXd z = (logits.segment(o, K) + gumbel.segment(o, K)).array() / temperature;
    const Eigen::ArrayXd shifted = (z - z.maxCoeff()).exp();
    gamma.segment(o, K) = (shifted / shifted.sum()).matrix();
  }
  return gamma;
}

void accumulate_gumbel_softmax_gradient(const StructureGraph& graph, const Eigen::Ref<const Eigen::VectorXd>& gamma,
                                        double temperature, const Eigen::Ref<const Eigen::VectorXd>& d_gamma,
                                        Eigen::Ref<Eigen::VectorXd> d_logits) {
  for (Eigen::Index e = 0; e < graph.edges(); ++e) {
    const Eigen::Index o = graph.basis_offset(e), K = graph.choices(e);
    const auto g = gamma.segment(o, K).array();
    const auto dg = d_gamma.segment(o, K).array();
    d_logits.segment(o, K).array() += g * (dg - (g * dg).sum()) / temperature;
  }
}

double structure_kl_sample(const StructureGraph& graph, const Eigen::Ref<const Eigen::VectorXd>& logits,
                           const Eigen::Ref<const Eigen::VectorXd>& gumbel, Eigen::VectorXd* d_logits) {
  double kl = 0.0;
  for (Eigen::Index e = 0; e < graph.edges(); ++e) {
    const Eigen::Index o = graph.basis_offset(e), K = graph.choices(e);
    const Eigen::ArrayXd a = logits.segment(o, K).array(), G = gumbel.segment(o, K).array();
    const Eigen::ArrayXd shifted = -a - G;  // a0 - a - G with zero prior logits
    const double lse = log_sum_exp(shifted);
    kl += a.sum() - static_cast<double>(K) * log_sum_exp((-G).eval()) + static_cast<double>(K) * lse;
    if (d_logits != nullptr) d_logits->segment(o, K).array() += 1.0 - static_cast<double>(K) * (shifted - lse).exp();
  }
  return kl;
}

Eigen::VectorXd edge_probabilities(const StructureGraph& graph, const Eigen::Ref<const Eigen::VectorXd>& logits) {
  return gumbel_softmax(graph, logits, Eigen::VectorXd::Zero(graph.bases()), 1.0);
}

double structure_entropy(const StructureGraph& graph, const Eigen::Ref<const Eigen::VectorXd>& logits) {
  const Eigen::VectorXd p = edge_probabilities(graph, logits);
  double h = 0.0;
  for (Eigen::Index i = 0; i < p.size(); ++i)
    if (p[i] > 0.0) h -= p[i] * std::log(p[i]);
  return h;
}

std::uint64_t most_probable_vertex(const StructureGraph& graph, const Eigen::Ref<const Eigen::VectorXd>& logits) {
  std::vector<Eigen::Index> chosen(static_cast<std::size_t>(graph.edges()));
  for (Eigen::Index e = 0; e < graph.edges(); ++e) logits.segment(graph.basis_offset(e), graph.choices(e)).maxCoeff(&chosen[static_cast<std::size_t>(e)]);
  return graph.vertex_index(chosen);
}

StructureElbo::StructureElbo(const StructureGraph& graph, Eigen::MatrixXd X, Eigen::VectorXd y, StructureElboOptions options)
    : graph_(graph), X_(std::move(X)), y_(std::move(y)), options_(options) {
  require(X_.rows() == y_.size(), "StructureElbo", "y", "one target per row of X");
  require(options_.noise_std > 0.0, "StructureElbo", "options.noise_std", "> 0");
  require(options_.gamma_floor > 0.0, "StructureElbo", "options.gamma_floor", "> 0");
  if (options_.likelihood == StructureLikelihood::bernoulli)
    require((y_.array() == 0.0 || y_.array() == 1.0).all(), "StructureElbo", "y", "0 or 1 under the Bernoulli likelihood");
  if (options_.vertex) {
    fixed_gamma_ = graph_.vertex_gamma(*options_.vertex);
    const auto active = graph_.vertex_weights(*options_.vertex);
    for (Eigen::Index j = 0; j < graph_.weights(); ++j)
      if (active[j]) active_.push_back(j);
  } else {
    for (Eigen::Index j = 0; j < graph_.weights(); ++j) active_.push_back(j);
  }
}

DiagGaussian StructureElbo::weights_distribution(const Eigen::Ref<const Eigen::VectorXd>& theta) const {
  const Eigen::Index P = graph_.weights();
  return DiagGaussian{theta.head(P), theta.segment(P, P)};
}

ElboTerms StructureElbo::estimate(const Eigen::Ref<const Eigen::VectorXd>& theta, const Eigen::Ref<const Eigen::MatrixXd>& eps,
                                  const Eigen::Ref<const Eigen::MatrixXd>& gumbel, ElboGradients* gradients) const {
  const Eigen::Index P = graph_.weights(), L = graph_.bases(), S = eps.cols();
  require(theta.size() == parameters(), "StructureElbo::estimate", "theta", std::to_string(parameters()) + " entries");
  require(eps.rows() == P && S >= 1, "StructureElbo::estimate", "eps", "P rows and at least one draw");
  const bool relaxed = !options_.vertex.has_value();
  require(!relaxed || (gumbel.rows() == L && gumbel.cols() == S), "StructureElbo::estimate", "gumbel", "bases() rows, one column per draw");
  const DiagGaussian q = weights_distribution(theta);
  const DiagGaussian q_active{q.mean(active_), q.log_std(active_)};
  const auto logits = theta.tail(L);
  const bool bernoulli = options_.likelihood == StructureLikelihood::bernoulli;
  const double weight = 1.0 / static_cast<double>(S), variance = bernoulli ? 1.0 : options_.noise_std * options_.noise_std;
  const double log_normalizer = -0.5 * static_cast<double>(y_.size()) * std::log(2.0 * std::numbers::pi * variance);
  if (gradients != nullptr) {
    gradients->data = gradients->parametric = gradients->structural = Eigen::VectorXd::Zero(parameters());
  }
  ElboTerms terms;
  StructureGraph::Workspace ws;
  Eigen::VectorXd w(P), d_w(P), d_gamma(L), gamma;
  for (Eigen::Index s = 0; s < S; ++s) {
    gamma = relaxed ? gumbel_softmax(graph_, logits, gumbel.col(s), options_.temperature) : fixed_gamma_;
    reparameterized_sample(q, eps.col(s), w);
    // residual = d ln p / df per object, divided by the likelihood's scale (sigma^2 or 1).
    Eigen::VectorXd residual;
    if (bernoulli) {
      const Eigen::VectorXd f = graph_.forward(X_, w, gamma, ws);
      // ln p = y f - ln(1 + e^f), with ln(1 + e^f) = max(f, 0) + log1p(e^-|f|); d/df = y - sigmoid(f).
      terms.data += weight * (y_.dot(f) - (f.array().max(0.0) + (-f.array().abs()).exp().log1p()).sum());
      residual = y_.array() - (1.0 + (-f.array()).exp()).inverse();
    } else {
      residual = y_ - graph_.forward(X_, w, gamma, ws);
      terms.data += weight * (log_normalizer - 0.5 * residual.squaredNorm() / variance);
    }

    // Prior log std of each weight in the KL: h_A + 1/2 ln(gamma_b^2 + floor^2).
    const Eigen::ArrayXd gamma_sq_floor = gamma.array().square() + options_.gamma_floor * options_.gamma_floor;
    Eigen::VectorXd prior_log_std(static_cast<Eigen::Index>(active_.size()));
    for (std::size_t i = 0; i < active_.size(); ++i)
      prior_log_std[static_cast<Eigen::Index>(i)] =
          options_.prior_log_std + 0.5 * std::log(gamma_sq_floor[graph_.basis_of_weight()[static_cast<std::size_t>(active_[i])]]);
    KlGradient kl_gradient;
    terms.parametric += weight * kl_to_prior(q_active, prior_log_std, gradients ? &kl_gradient : nullptr);
    if (relaxed) terms.structural += weight * structure_kl_sample(graph_, logits, gumbel.col(s));
    if (gradients == nullptr) continue;

    d_w.setZero();
    d_gamma.setZero();
    graph_.backward(w, gamma, ws, residual * (weight / variance), d_w, d_gamma);
    accumulate_sample_gradient(q, eps.col(s), d_w, gradients->data.head(P), gradients->data.segment(P, P));
    for (std::size_t i = 0; i < active_.size(); ++i) {
      gradients->parametric[active_[i]] += weight * kl_gradient.d_mean[static_cast<Eigen::Index>(i)];
      gradients->parametric[P + active_[i]] += weight * kl_gradient.d_log_std[static_cast<Eigen::Index>(i)];
    }
    if (!relaxed) continue;
    accumulate_gumbel_softmax_gradient(graph_, gamma, options_.temperature, d_gamma, gradients->data.tail(L));
    // d KL / d gamma_b = sum over b's weights of d KL / d h_j * gamma_b / (gamma_b^2 + floor^2).
    const Eigen::VectorXd d_prior_gamma =
        (sum_groups(kl_gradient.d_prior_log_std, graph_.basis_of_weight(), L).array() * gamma.array() / gamma_sq_floor).matrix() * weight;
    accumulate_gumbel_softmax_gradient(graph_, gamma, options_.temperature, d_prior_gamma, gradients->parametric.tail(L));
    Eigen::VectorXd d_logits = Eigen::VectorXd::Zero(L);
    structure_kl_sample(graph_, logits, gumbel.col(s), &d_logits);
    gradients->structural.tail(L) += weight * d_logits;
  }
  return terms;
}

Eigen::VectorXd StructureElbo::ascent_direction(const ElboGradients& g, const MetaWeights& meta) const {
  const Eigen::Index W = 2 * graph_.weights(), L = graph_.bases();
  Eigen::VectorXd direction(parameters());
  direction.head(W) = g.data.head(W) - meta.complexity_lower * g.parametric.head(W);
  direction.tail(L) = meta.likelihood * g.data.tail(L) - meta.complexity_upper * g.parametric.tail(L) - g.structural.tail(L);
  return direction;
}

double scheduled_temperature(const StructureSearchOptions& options, Eigen::Index t) {
  if (!options.annealed || options.iterations <= 1) return options.temperature;
  const double progress = static_cast<double>(std::clamp<Eigen::Index>(t, 1, options.iterations) - 1) / static_cast<double>(options.iterations - 1);
  return options.temperature * std::pow(options.final_temperature / options.temperature, progress);
}

namespace {

// The search as a DifferentiableObjective for optim's Adam: minimizes -ELBO, and its "gradient"
// is minus the bilevel ascent direction (the two blocks follow different objectives, which is
// the meta weights' point). Each call is one step: it draws fresh noise and advances the
// temperature and prior schedules, so the sequence of calls is a function of the seeds.
class SearchStep {
 public:
  SearchStep(StructureElbo& elbo, const StructureSearchOptions& options, std::uint64_t noise_seed)
      : elbo_(elbo), options_(options), rng_(noise_seed) {}

  Eigen::Index parameters() const { return elbo_.parameters(); }
  double evaluate(const Eigen::VectorXd& theta) { return -draw_and_estimate(theta, options_.samples, nullptr).elbo(); }
  void gradient(const Eigen::VectorXd& theta, Eigen::VectorXd& g) { evaluate_with_gradient(theta, g); }
  double evaluate_with_gradient(const Eigen::VectorXd& theta, Eigen::VectorXd& g) {
    ++step_;
    elbo_.options().temperature = scheduled_temperature(options_, step_);
    const bool first_prior = static_cast<double>(step_) <= options_.broad_after * static_cast<double>(options_.iterations);
    elbo_.options().prior_log_std = 0.5 * std::log(first_prior ? options_.prior_variance : options_.broad_prior_variance);
    ElboGradients gradients;
    const ElboTerms terms = draw_and_estimate(theta, options_.samples, &gradients);
    g = -elbo_.ascent_direction(gradients, options_.meta);
    return -terms.elbo();
  }

  ElboTerms draw_and_estimate(const Eigen::VectorXd& theta, Eigen::Index samples, ElboGradients* gradients) {
    const Eigen::Index P = elbo_.graph().weights(), L = elbo_.graph().bases();
    Eigen::MatrixXd eps(P, samples), gumbel;
    for (Eigen::Index s = 0; s < samples; ++s)
      for (Eigen::Index j = 0; j < P; ++j) eps(j, s) = rng_.normal();
    if (!elbo_.options().vertex) {  // a fixed vertex draws no Gumbel noise: vertices share their eps draws
      gumbel.resize(L, samples);
      for (Eigen::Index s = 0; s < samples; ++s) gumbel.col(s) = gumbel_draws(L, rng_);
    }
    return elbo_.estimate(theta, eps, gumbel, gradients);
  }

 private:
  StructureElbo& elbo_;
  const StructureSearchOptions& options_;
  RandomStream rng_;
  Eigen::Index step_ = 0;
};

}  // namespace

StructureSearchResult search_structure(const StructureGraph& graph, const Eigen::Ref<const Eigen::MatrixXd>& X,
                                       const Eigen::Ref<const Eigen::VectorXd>& y, const StructureSearchOptions& options,
                                       std::uint64_t init_seed, std::uint64_t noise_seed) {
  require(options.iterations >= 0, "search_structure", "options.iterations", ">= 0");
  require(options.samples >= 1 && options.final_samples >= 1, "search_structure", "options.samples, final_samples", ">= 1");
  require(options.temperature > 0.0 && options.final_temperature > 0.0, "search_structure", "options.temperature", "> 0");
  require(options.prior_variance > 0.0 && options.broad_prior_variance > 0.0, "search_structure", "options.prior_variance", "> 0");
  StructureElboOptions elbo_options;
  elbo_options.likelihood = options.likelihood;
  elbo_options.noise_std = options.noise_std;
  elbo_options.gamma_floor = options.gamma_floor;
  elbo_options.vertex = options.vertex;
  elbo_options.temperature = options.temperature;
  elbo_options.prior_log_std = 0.5 * std::log(options.prior_variance);
  StructureElbo elbo(graph, X, y, elbo_options);

  const Eigen::Index P = graph.weights();
  StructureSearchResult result;
  result.theta = Eigen::VectorXd::Zero(elbo.parameters());  // logits start at the prior's (uniform)
  RandomStream init(init_seed);
  for (Eigen::Index j = 0; j < P; ++j) result.theta[j] = options.init_std * init.normal();
  result.theta.segment(P, P).setConstant(options.init_log_std);

  AdamOptions adam_options;
  adam_options.max_iterations = options.iterations;
  adam_options.batch_size = 0;
  adam_options.evaluate_final = false;
  adam_options.learning_rate = options.learning_rate;
  if (options.vertex) {  // only the vertex's weights move; the logits have no role
    const auto active = graph.vertex_weights(*options.vertex);
    adam_options.trainable = Eigen::Array<bool, Eigen::Dynamic, 1>::Constant(elbo.parameters(), false);
    adam_options.trainable.head(P) = active;
    adam_options.trainable.segment(P, P) = active;
  }
  SearchStep step(elbo, options, noise_seed);
  FullBatch<SearchStep> objective(step);
  const OptimSummary fit = adam(objective, result.theta, adam_options);
  static_cast<FitSummary&>(result) = fit;
  // The reported terms: many draws at the last step's temperature and prior.
  elbo.options().temperature = scheduled_temperature(options, options.iterations);
  if (options.iterations > 0 && options.broad_after < 1.0)
    elbo.options().prior_log_std = 0.5 * std::log(options.broad_prior_variance);
  result.terms = step.draw_and_estimate(result.theta, options.final_samples, nullptr);
  return result;
}

}  // namespace msweep
