// A weighted Gaussian posterior: the value type models hand to criteria (an expert's q(w_k) of a
// mixture, compared by the s-score), so criteria need not link the models that produce it.
#pragma once
#include <Eigen/Core>

namespace msweep {

struct GaussianPosterior {
  Eigen::VectorXd mean;
  Eigen::MatrixXd covariance;
  double weight = 1.0;  // mixing weight of the component it describes
};

}  // namespace msweep
