"""What a figure set works from and what it produces: the Context handed to ``build(context)``,
and the Figure and Table records the report is assembled from (report.py).
"""

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import plots
from .reader import load_array
from .summary import aggregate


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


@dataclass
class Context:
    """What a figure set works from (the results) and what it produces (tables, figures, notes)."""
    path: Path
    info: dict
    tasks: pd.DataFrame
    output_dir: Path
    tables: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    _summary: pd.DataFrame = None
    _arrays: dict = field(default_factory=dict)

    @property
    def summary(self):
        """aggregate(tasks) over run and fold, computed once."""
        if self._summary is None:
            self._summary = aggregate(self.tasks)
        return self._summary

    def array(self, name):
        """load_array(path, name), read once; aligned with ``tasks`` rows."""
        if name not in self._arrays:
            self._arrays[name] = load_array(self.path, name)
        return self._arrays[name]

    def has_metric(self, name):
        return name in self.info["metrics"]

    def add_table(self, name, title, frame, caption="", shown=None):
        self.tables.append(Table(name, title, caption, frame, shown))

    def add_figure(self, fig, name, title, caption=""):
        """Save ``fig`` as figures/<name>.png and .pdf under the report directory."""
        png, pdf = plots.save(fig, self.output_dir / "figures", name)
        self.figures.append(Figure(name, title, caption, png.relative_to(self.output_dir),
                                   pdf.relative_to(self.output_dir)))

    def add_note(self, text):
        """A finding or warning shown near the top of the report (e.g. non-converged fits)."""
        self.notes.append(text)
