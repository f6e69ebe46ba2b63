"""The log evidence msweep stores equals scikit-learn's BayesianRidge on the same data and
subsets (Debian's python3-sklearn), with the hyperpriors switched off so both maximize the
same evidence."""
import numpy as np
from sklearn.linear_model import BayesianRidge

from conftest import load_tasks, run, write_job


def test_log_evidence_matches_bayesian_ridge(tmp):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(70, 5))
    y = X @ rng.normal(size=5) + 0.8 * rng.normal(size=70) + 3.0
    data = tmp / "data.csv"
    np.savetxt(data, np.column_stack([X, y]), delimiter=",", header="a,b,c,d,e,target", comments="")
    job = write_job(tmp, "sk", f"""[job]
name = "sk"
experiment = "subset-evidence"
seed = 1
[data]
source = "csv:{data}"
target = "target"
standardize = false
test_fraction = 0.0
[sweep]
structures = "all"
""")
    output = tmp / "sk.h5"
    result = run(["run", job, "-o", output, "-q"])
    assert result.returncode == 0, result.stderr
    rows = load_tasks(output)
    import h5py
    with h5py.File(output, "r") as f:
        labels = [s.decode() for s in f["axes/structure"][:]]
    names = ["a", "b", "c", "d", "e"]
    checked = 0
    for row in rows:
        label = labels[row["structure"]]
        if label == "(intercept only)":
            continue
        columns = [names.index(n) for n in label.split("+")]
        model = BayesianRidge(n_iter=10000, tol=1e-14, alpha_1=0, alpha_2=0, lambda_1=0, lambda_2=0,
                              compute_score=True, fit_intercept=True)
        model.fit(X[:, columns], y)
        # sklearn: alpha_ is the noise precision (our beta), lambda_ the weight precision (our alpha).
        np.testing.assert_allclose(row["beta"], model.alpha_, rtol=1e-6)
        np.testing.assert_allclose(row["alpha"], model.lambda_, rtol=1e-6)
        # sklearn's score is computed before its last update; evaluate at its final point instead.
        np.testing.assert_allclose(row["log_evidence"], sklearn_log_evidence(X[:, columns], y, model), rtol=1e-6)
        checked += 1
    assert checked == 31


def sklearn_log_evidence(X, y, model):
    """ln N(y_c | 0, 1/alpha I + 1/lambda X_c X_c^T) at sklearn's fitted hyperparameters (centred data)."""
    Xc = X - X.mean(axis=0)
    yc = y - y.mean()
    C = np.eye(len(y)) / model.alpha_ + Xc @ Xc.T / model.lambda_
    sign, logdet = np.linalg.slogdet(C)
    return -0.5 * (len(y) * np.log(2 * np.pi) + logdet + yc @ np.linalg.solve(C, yc))
