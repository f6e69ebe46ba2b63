"""What a figure set works from and what it produces: the Context handed to ``build(context)``,
and the Figure and Table records the report is assembled from (report.py).
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import plots, streaming
from .reader import load, load_array
from .summary import aggregate, unit_means

# Files with more committed rows than this are reported without holding their rows: summaries
# come from /summaries or from passes over /tasks (streaming.py). A row in memory costs some
# 300 bytes with every column, so this keeps the in-memory path under about 1 GB.
# MSWEEP_IN_MEMORY_ROWS sets another threshold (0: always stream).
IN_MEMORY_ROWS = int(os.environ.get("MSWEEP_IN_MEMORY_ROWS", 3_000_000))


@dataclass
class Figure:
    """A saved figure: files relative to the report directory, and what it shows."""
    name: str
    title: str
    caption: str
    png: Path
    pdf: Path


@dataclass
class Table:
    """A table for the report: ``frame`` goes whole to CSV; ``shown`` (default: frame) to HTML and Markdown."""
    name: str
    title: str
    caption: str
    frame: pd.DataFrame
    shown: pd.DataFrame = None
    csv_columns: list = None  # columns of ``frame`` the CSV gets (default: all); saves a copy of a large frame


@dataclass
class Context:
    """What a figure set works from (the results) and what it produces (tables, figures, notes).

    ``streaming`` is True for files with more than IN_MEMORY_ROWS rows: then ``summary``,
    ``aggregate()`` and ``run_tables()`` never hold the rows, and ``tasks`` (for the figure sets
    that need single rows) holds the axes and metrics only, without error, wall time and rank.
    """
    path: Path
    info: dict
    preloaded: pd.DataFrame = None  # the load() frame when the caller has it already
    output_dir: Path = None
    streaming: bool = False
    failed_count: int = 0  # failed tasks in the file (the report fills it in)
    tables: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    _summary: pd.DataFrame = None
    _arrays: dict = field(default_factory=dict)

    @property
    def tasks(self):
        """load(path), read on first use (in streaming mode without the error, wall_time and rank columns)."""
        if self.preloaded is None:
            columns = [*self.info["axes"], *self.info["metrics"]] if self.streaming else None
            self.preloaded = load(self.path, columns=columns)
        return self.preloaded

    @property
    def summary(self):
        """aggregate(tasks) over run and fold, computed once."""
        if self._summary is None:
            self._summary = self.aggregate()
        return self._summary

    def aggregate(self, over=("run", "fold"), metrics=None):
        """aggregate(tasks, over, metrics): from the rows in memory, or from /summaries or passes over the file."""
        if self.streaming:
            return streaming.file_aggregate(self.info, over, metrics)
        return aggregate(self.tasks, over=over, metrics=metrics)

    def run_tables(self, axis, metrics, tallies=()):
        """Yield (metric, DataFrame runs x positions on ``axis``): each run's mean of the metric over
        its ok rows per value of ``axis`` (NaN where none). In streaming mode as many metrics as
        streaming.CELL_BUDGET allows are computed per pass over the file; use each table and drop
        it. ``tallies`` (streaming.Tally) count ok rows in the same pass: final after the first table."""
        positions = range(len(self.info["axes"][axis]))
        if not self.streaming:
            if tallies:
                ok = self.tasks[self.tasks["status"] == "ok"]
                for tally in tallies:
                    tally.count += int(np.count_nonzero(tally.test(ok[tally.field].to_numpy())))
            for metric in metrics:
                means = unit_means(self.tasks, [f"{axis}_index"], [metric])[metric]
                yield metric, means.unstack(f"{axis}_index").reindex(columns=positions)
            return
        for metric, table in streaming.run_tables(self.info, [axis], metrics, tallies):
            frame = pd.DataFrame(table, columns=positions)
            frame.index.name = "run_index"
            yield metric, frame

    def array(self, name):
        """load_array(path, name), read once; aligned with ``tasks`` rows."""
        if name not in self._arrays:
            self._arrays[name] = load_array(self.path, name)
        return self._arrays[name]

    def has_metric(self, name):
        return name in self.info["metrics"]

    def add_table(self, name, title, frame, caption="", shown=None, csv_columns=None):
        self.tables.append(Table(name, title, caption, frame, shown, csv_columns))

    def add_figure(self, fig, name, title, caption=""):
        """Save ``fig`` as figures/<name>.png and .pdf under the report directory."""
        png, pdf = plots.save(fig, self.output_dir / "figures", name)
        self.figures.append(Figure(name, title, caption, png.relative_to(self.output_dir),
                                   pdf.relative_to(self.output_dir)))

    def add_note(self, text):
        """A finding or warning shown near the top of the report (e.g. non-converged fits)."""
        self.notes.append(text)
