"""Shared fixtures of the analysis tests; every output goes to pytest's tmp_path."""

import sys
from pathlib import Path

import pytest

# Make the package importable without PYTHONPATH too (CTest sets it; a bare `pytest` does not).
ANALYSIS_DIR = Path(__file__).resolve().parents[2] / "analysis"
if str(ANALYSIS_DIR) not in sys.path:
    sys.path.insert(0, str(ANALYSIS_DIR))

import results_files  # noqa: E402


@pytest.fixture
def complete_file(tmp_path):
    """A complete subset-evidence sweep: 16 structures x 3 folds x 1 restart x 2 runs, 3 failed tasks."""
    axes, metrics, rows = results_files.subset_evidence_rows(failed_ids=(5, 6, 40))
    path = tmp_path / "complete.h5"
    results_files.write_results(path, axes, metrics, rows)
    return path, axes, metrics, rows
