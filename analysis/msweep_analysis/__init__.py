"""Analysis of msweep results files: tables, figures and a report.

    import sys; sys.path.insert(0, "analysis")
    import msweep_analysis as ma
    tasks = ma.load("results/job.h5")          # one row per task, labels + metrics
    table = ma.aggregate(tasks)                # mean/std/sem over run and fold
    ma.info("results/job.h5")["status"]        # 'running', 'complete' or 'interrupted'

The report command is ``analysis/msweep-report RESULTS.h5 -o DIR`` (or
``python3 -m msweep_analysis.report``); see docs/analysis.md.
"""

from .errors import ResultsFileError
from .reader import FORMAT_VERSION, info, load, load_array, load_summaries, resolved_section
from .summary import aggregate, axis_names, metric_names

__all__ = [
    "FORMAT_VERSION", "ResultsFileError", "aggregate", "axis_names", "info", "load",
    "load_array", "load_summaries", "metric_names", "resolved_section",
]
