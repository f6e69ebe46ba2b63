"""Figure sets keyed by experiment kind, and the context they draw from.

A figure set is a function ``build(context)`` that adds tables, figures and notes to
the report through the context. Register one per experiment kind:

    from msweep_analysis.registry import register

    @register("pruning-curves")
    def build(context):
        fig, (ax,) = plots.figure()
        plots.plot_curves(ax, context.tasks, x="fraction", y="loss", group="order")
        context.add_figure(fig, "loss_curves", "Loss against frozen fraction", "Mean over runs, band: sem.")

Kinds without a registered set get the generic one (figure_sets/generic.py).
"""

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import plots
from .reader import load_array
from .summary import aggregate

_REGISTRY = {}


def register(kind):
    """Decorator: make ``build(context)`` the figure set of experiment kind ``kind``."""
    def decorate(build):
        _REGISTRY[kind] = build
        return build
    return decorate


def figure_set_for(kind):
    """The figure set registered for ``kind``, else the generic one."""
    from . import figure_sets  # noqa: F401  importing registers the built-in sets
    return _REGISTRY.get(kind, _REGISTRY["*generic*"])


def registered_kinds():
    """Experiment kinds with their own figure set."""
    from . import figure_sets  # noqa: F401
    return sorted(k for k in _REGISTRY if k != "*generic*")


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
