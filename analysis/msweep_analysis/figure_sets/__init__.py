"""Figure sets keyed by experiment kind: the mirror of src/experiments/registry.cpp.

A figure set is a function ``build(context)`` (context.py) that adds tables, figures and
notes to the report. Adding one for a new experiment kind is a module here with a ``build``
function and one line in FIGURE_SETS below (docs/analysis.md, "Adding a figure set"). Kinds
without an entry get the generic set: a summary table and one figure per metric.
"""

from . import (generic, hyperparameter_optimization, mixture_em, multistart_evidence, param_ordering, structure_selection,
               subset_evidence)

FIGURE_SETS = {
    "hyperparameter-optimization": hyperparameter_optimization.build,
    "mixture-em": mixture_em.build,
    "multistart-evidence": multistart_evidence.build,
    "param-ordering": param_ordering.build,
    "structure-selection": structure_selection.build,
    "subset-evidence": subset_evidence.build,
}
GENERIC = generic.build


def figure_set_for(kind):
    """The figure set of experiment kind ``kind``, else the generic one."""
    return FIGURE_SETS.get(kind, GENERIC)


def registered_kinds():
    """Experiment kinds with their own figure set."""
    return sorted(FIGURE_SETS)
