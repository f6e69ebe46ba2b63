"""Numbers as text for tables: enough significant digits to tell ranked values apart."""

import numpy as np

MIN_DIGITS = 4
MAX_DIGITS = 12


def distinguishing_digits(values, minimum=MIN_DIGITS, maximum=MAX_DIGITS):
    """Fewest significant digits (at least ``minimum``) at which distinct values print distinctly.

    Structures ranked by a criterion often differ in the fifth or sixth digit (log
    evidences of -1234.51 and -1234.56); four digits would print both as -1235 and
    hide the ranking. Values that are equal may print equal; NaN and inf are ignored.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    distinct = np.unique(values[np.isfinite(values)])
    for digits in range(minimum, maximum + 1):
        if len({f"{v:.{digits}g}" for v in distinct}) == distinct.size:
            return digits
    return maximum


def number(value, digits=MIN_DIGITS):
    """``value`` with ``digits`` significant digits; empty for NaN and inf."""
    return f"{value:.{digits}g}" if np.isfinite(value) else ""


def mean_pm_sem(mean, sem, digits=MIN_DIGITS + 1):
    """'mean ± sem': the mean to ``digits`` significant digits, the sem to 2; '–' without a mean."""
    if not np.isfinite(mean):
        return "–"
    return f"{mean:.{digits}g} ± {sem:.2g}" if np.isfinite(sem) else f"{mean:.{digits}g}"


def column_formatters(frame, minimum=MIN_DIGITS):
    """{column: function(value) -> str} for the float columns of ``frame``, digits chosen per column."""
    formatters = {}
    for name in frame.columns:
        column = frame[name]
        if column.dtype.kind == "f":
            digits = distinguishing_digits(column.to_numpy(), minimum)
            formatters[name] = lambda value, digits=digits: number(value, digits)
    return formatters
