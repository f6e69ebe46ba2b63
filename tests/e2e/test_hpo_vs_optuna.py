"""bench/hpo_vs_optuna.py on a tiny budget: with Optuna installed, every method's row, the
best-so-far curves and the reach column are printed (no figure is asserted); without it, exit 3
(bench/common.py PEER_NOT_READY) and the package to install. A bad override is refused."""
import importlib.util
import re
import subprocess
import sys

from conftest import SOURCE, environment

SCRIPT = SOURCE / "bench" / "hpo_vs_optuna.py"
METHODS = ("optuna-random", "optuna-tpe", "greedy", "hoag", "drmad")


def comparison(*args, **extra_environment):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600,
                          env=environment(**extra_environment))


def test_tiny_comparison_prints_every_method_or_names_the_missing_peer():
    result = comparison("--runs", "1", "--criteria", "cv", "elbo", "--set", "sweep.outer_iterations=3")
    if importlib.util.find_spec("optuna") is None:
        assert result.returncode == 3, result.stdout + result.stderr
        assert "apt-get install python3-optuna" in result.stderr
        return
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for criterion in ("cv", "elbo"):
        assert re.search(rf"^criterion {criterion}: 3 trainings per method, 1 runs \(12 hyperparameters", out, re.M), out
    for method in METHODS:
        rows = re.findall(rf"^{method} +(-?[\d.e+]+|nan) +([^|\n]+?) +(-|[\d.e+]+) +([\d.e+]+)$", out, re.M)
        assert len(rows) == 2, (method, out)
        curves = re.findall(rf"^{method} +(?:-?[\d.e+]+ +){{3}}\| +(?:[\d.e+]+ +){{2}}[\d.e+]+$", out, re.M)
        assert len(curves) == 2, (method, out)
    assert out.count("best Q after n trainings (mean over runs) | seconds to n trainings") == 2


def test_bad_override_stops_with_the_key():
    if importlib.util.find_spec("optuna") is None:
        return  # the missing peer is checked first (the test above)
    result = comparison("--runs", "1", "--criteria", "cv", "--set", "sweep.stepsize=1e-5")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and "stepsize" in lines[0] and 'did you mean "step_size"' in lines[0], result.stderr
    assert lines[1].startswith("hpo_vs_optuna: bench_hpo_objective refused ") and "Traceback" not in result.stderr


def test_a_missing_optuna_names_its_package_and_exits_3(tmp_path):
    """Shadows optuna with a module whose import fails, as on a machine without python3-optuna."""
    (tmp_path / "optuna.py").write_text('raise ImportError("No module named optuna (shadowed by the test)")\n')
    result = comparison("--runs", "1", "--criteria", "cv", PYTHONPATH=str(tmp_path))
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stderr.strip() == ("hpo_vs_optuna: Optuna is missing: apt-get install python3-optuna "
                                     "(or bash scripts/setup.sh --bench)")
