"""Built-in figure sets; importing this package registers them (see registry.py).

To add one for a new experiment kind, put a module here with a function decorated
``@register("<kind>")`` and import it below.
"""

from . import generic, mixture_em, param_ordering, subset_evidence  # noqa: F401
