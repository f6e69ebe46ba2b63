"""Analysis of msweep results files: tables, figures and a report.

    import sys; sys.path.insert(0, "analysis")
    import msweep_analysis as ma
    tasks = ma.load("results/job.h5")          # one row per task, labels + metrics
    table = ma.aggregate(tasks)                # folds averaged per run, then mean/std/sem over runs
    part = ma.load("results/job.h5", columns=["structure", "run", "test_mse"], where={"run": range(5)})
    pairs = ma.compare("results/a.h5", "results/b.h5")   # paired differences B - A per structure
    ma.info("results/job.h5")["status"]        # 'running', 'complete' or 'interrupted'

The report command is ``analysis/msweep-report RESULTS.h5 -o DIR`` (or
``python3 -m msweep_analysis.report``); see docs/analysis.md.
"""

from .errors import ResultsFileError
from .reader import FORMAT_VERSION, axis_labels, info, load, load_array, load_summaries, resolved_section
from .compare import IncomparableError, compare
from .summary import aggregate, axis_names, metric_names

__all__ = [
    "FORMAT_VERSION", "IncomparableError", "ResultsFileError", "aggregate", "axis_labels", "axis_names",
    "compare", "info", "load", "load_array", "load_summaries", "metric_names", "resolved_section",
]
