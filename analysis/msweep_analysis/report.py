"""msweep-report: from a results file to tables, figures and an index.html.

    msweep-report RESULTS.h5 -o DIR
    msweep-report A.h5 B.h5 -o DIR          # two files over the same grid: paired differences B - A
    python3 -m msweep_analysis.report RESULTS.h5 -o DIR

Writes DIR/tables/*.csv and *.md, DIR/figures/*.png and *.pdf (chosen by the file's
experiment kind, see figure_sets/__init__.py) and DIR/index.html, then prints the path of
index.html. Exit status 0 on success, 2 on bad input (one line on stderr).
"""

import argparse
import html
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from . import streaming
from .compare import IncomparableError
from .context import IN_MEMORY_ROWS, Context
from .errors import ResultsFileError
from .figure_sets import figure_set_for, structure_selection
from .formatting import column_formatters, number
from .reader import info as read_info, load
from .summary import varying_axes

SHOWN_FAILURES = 20
CSV_ROWS = 100_000  # rows of a table written to CSV at a time


# --------------------------------------------------------------------------- tables as files

def format_cell(value):
    """Compact, readable text for one table cell (4 significant digits for floats)."""
    if isinstance(value, (float, np.floating)):
        return number(value)
    return str(value)


def markdown_table(frame):
    """GitHub-flavoured Markdown table of ``frame`` (no index), '|' escaped in cells.

    Float columns get as many significant digits (at least 4) as their distinct values
    need to print distinctly, so ranked rows never look tied.
    """
    formatters = column_formatters(frame)
    plain = [formatters.get(name, format_cell) for name in frame.columns]

    def row(cells, formats):
        return "| " + " | ".join(f(c).replace("|", "\\|").replace("\n", " ") for f, c in zip(formats, cells)) + " |"
    lines = [row(frame.columns, [str] * len(frame.columns)), "|" + "---|" * len(frame.columns)]
    lines += [row(values, plain) for values in frame.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def write_tables(context):
    """tables/<name>.csv (the whole frame, full precision) and tables/<name>.md (the shown part)."""
    directory = context.output_dir / "tables"
    directory.mkdir(parents=True, exist_ok=True)
    for table in context.tables:
        shown = table.frame if table.shown is None else table.shown
        with open(directory / f"{table.name}.csv", "w", encoding="utf-8", newline="") as csv:
            for begin in range(0, max(1, len(table.frame)), CSV_ROWS):  # pieces: to_csv copies what it writes
                table.frame.iloc[begin:begin + CSV_ROWS].to_csv(csv, index=False, header=begin == 0,
                                                                columns=table.csv_columns)
        text = f"## {table.title}\n\n{table.caption}\n\n{markdown_table(shown)}"
        (directory / f"{table.name}.md").write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- status and failures

def describe_status(info, failed):
    """Notes about an unfinished run and failed tasks, shown first in the report."""
    notes = []
    done, total = info["rows_committed"], info["task_count"]
    if info["status"] == "running":
        notes.append(f"The file says the run is still running: {done} of {total} tasks have results so far. "
                     "If no run is writing it any more, the writer was killed; either way the report shows "
                     "the committed rows only.")
    elif info["status"] == "interrupted":
        notes.append(f"The run was interrupted: {done} of {total} tasks have results; "
                     "figures and tables show those only (the run can be resumed).")
    elif done < total:
        notes.append(f"Status is '{info['status']}' but only {done} of {total} tasks have results.")
    if failed:
        notes.append(f"{failed} of {done} tasks failed; they are excluded from every mean and listed under "
                     "'Failed tasks'.")
    return notes


def failed_tasks(context):
    """The failed rows (id, axes, rank, error): read from the file alone in streaming mode, and not
    at all (no pass over /tasks) when a current /summaries counts none."""
    if context.streaming:
        none_failed = streaming.failed_count_from_summaries(context.info) == 0
        return load(context.path, columns=[*context.info["axes"], "rank", "error"], where={"status": "failed"},
                    rows=(0, 0) if none_failed else None)
    return context.tasks[context.tasks["status"] == "failed"]


def add_failures(context, failed):
    """Table of failed tasks (all in CSV) and the most common error messages."""
    if failed.empty:
        return
    axes = varying_axes(context.info)  # an axis with one value (often fold, restart) says nothing here
    frame = failed[["id", *axes, "rank", "error"]]
    common = Counter(failed["error"]).most_common(3)
    caption = "Most common errors: " + "; ".join(f"{count}× “{message}”" for message, count in common) + "."
    if len(frame) > SHOWN_FAILURES:
        caption += f" First {SHOWN_FAILURES} of {len(frame)} shown; the CSV lists all."
    context.add_table("failed_tasks", "Failed tasks", frame, caption, shown=frame.head(SHOWN_FAILURES))


# --------------------------------------------------------------------------- HTML

STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 1180px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
.status { display: inline-block; padding: 0.1em 0.6em; border-radius: 0.8em; font-weight: 600; color: white; }
.status.complete { background: #2e7d32; } .status.running { background: #ef6c00; }
.status.interrupted { background: #c62828; }
.notes { background: #fff8e1; border-left: 4px solid #f9a825; padding: 0.6em 1em; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
table.provenance td { text-align: left; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.92em; color: #444; max-width: 60em; }
pre { background: #f6f8fa; padding: 1em; overflow-x: auto; font-size: 0.88em; }
.files { font-size: 0.88em; }
"""


def provenance_rows(info, failed):
    return [
        ("job name", info["job_name"]),
        ("experiment", info["experiment"]),
        ("status", info["status"]),
        ("tasks with results", f"{info['rows_committed']} of {info['task_count']} ({failed} failed)"),
        ("axes", ", ".join(f"{name} ({len(info['axes'][name])})" for name in varying_axes(info)) or "–"),
        ("axes with one value", ", ".join(f"{name} = {labels[0]}" for name, labels in info["axes"].items()
                                          if len(labels) == 1) or "–"),
        ("created", info["created"]),
        ("finished", info["finished"] or "–"),
        ("last update", info["updated"]),
        ("wall time of last run", "–" if info["wall_seconds"] is None else f"{info['wall_seconds']:.1f} s"),
        ("ranks", "–" if info["ranks"] is None else info["ranks"]),
        ("hosts", ", ".join(info["hosts"]) or "–"),
        ("job file", info["job_path"]),
        ("job seed", "–" if info["job_seed"] is None else info["job_seed"]),
        ("job hash", info["job_hash"]),
        ("msweep version", info["msweep_version"]),
        ("results file", f"{info['path']} (format_version {info['format_version']})"),
    ]


def html_table(table):
    shown = table.frame if table.shown is None else table.shown
    formatters = {name: (lambda value, f=f: f(value) or "–") for name, f in column_formatters(shown).items()}
    body = shown.to_html(index=False, border=0, na_rep="–", formatters=formatters, escape=True)
    return (f"<h3>{html.escape(table.title)}</h3>\n<p>{html.escape(table.caption)}</p>\n{body}\n"
            f"<p class='files'>Files: <a href='tables/{table.name}.csv'>CSV</a> · "
            f"<a href='tables/{table.name}.md'>Markdown</a></p>")


def html_figure(figure):
    return (f"<figure><h3>{html.escape(figure.title)}</h3>\n"
            f"<a href='{figure.pdf.as_posix()}'><img src='{figure.png.as_posix()}' alt='{html.escape(figure.title)}'></a>\n"
            f"<figcaption>{html.escape(figure.caption)} "
            f"<span class='files'>(<a href='{figure.pdf.as_posix()}'>PDF</a>)</span></figcaption></figure>")


def html_page(title, subtitle, context, tail):
    """The page every report shares: title, subtitle (HTML), notes, figures, tables, then ``tail`` (HTML parts)."""
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in context.notes)
    parts = [
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>", subtitle,
        f"<div class='notes'><ul>{notes}</ul></div>" if notes else "",
        "<h2>Figures</h2>", *(html_figure(f) for f in context.figures),
        "<h2>Tables</h2>", *(html_table(t) for t in context.tables),
        *tail, "</body></html>",
    ]
    return "\n".join(p for p in parts if p)


def render_html(context):
    info = context.info
    title = f"msweep report: {info['job_name'] or Path(info['path']).stem}"
    provenance = "\n".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                           for k, v in provenance_rows(info, context.failed_count))
    subtitle = (f"<p>Experiment <b>{html.escape(info['experiment'])}</b> · "
                f"<span class='status {html.escape(info['status'])}'>{html.escape(info['status'])}</span></p>")
    return html_page(title, subtitle, context, [
        f"<h2>Provenance</h2><table class='provenance'>{provenance}</table>",
        f"<h2>Job file</h2><pre>{html.escape(info['job_text'])}</pre>",
    ])


# --------------------------------------------------------------------------- the command

def write_report(results, output_dir):
    """Write the whole report for ``results`` into ``output_dir``; return the index.html path."""
    output_dir = Path(output_dir)
    meta = read_info(results)
    output_dir.mkdir(parents=True, exist_ok=True)
    context = Context(path=Path(results), info=meta, output_dir=output_dir,
                      streaming=meta["rows_committed"] > IN_MEMORY_ROWS)
    if context.streaming:
        context.notes.append(f"{meta['rows_committed']} rows: this report was made without holding them in memory "
                             "(summaries from /summaries or from passes over the file; docs/analysis.md).")
    failed = failed_tasks(context)
    context.failed_count = len(failed)
    context.notes.extend(describe_status(meta, len(failed)))
    figure_set_for(meta["experiment"])(context)
    add_failures(context, failed)
    write_tables(context)
    index = output_dir / "index.html"
    index.write_text(render_html(context), encoding="utf-8")
    return index


def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="msweep-report", description="Tables, figures and an index.html from an msweep results file, "
                                          "or the paired comparison of two files over the same grid.")
    parser.add_argument("results", nargs="+", metavar="RESULTS",
                        help="results file written by msweep run (HDF5); two files: compare B with A")
    parser.add_argument("-o", "--output", required=True, help="directory to write the report into")
    arguments = parser.parse_args(argv)
    if len(arguments.results) > 2:
        parser.error(f"at most two results files (a report, or a comparison of two), got {len(arguments.results)}")
    return arguments


def main(argv=None):
    """Entry point; returns the exit status (0 ok, 2 bad input)."""
    arguments = parse_arguments(argv)
    try:
        if len(arguments.results) == 2 and structure_selection.is_placement_pair(*arguments.results):
            index = structure_selection.write_placement_report(*arguments.results, arguments.output)
        elif len(arguments.results) == 2:
            from .compare_report import write_comparison_report
            index = write_comparison_report(*arguments.results, arguments.output)
        else:
            index = write_report(arguments.results[0], arguments.output)
    except (ResultsFileError, IncomparableError) as error:
        print(f"msweep-report: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the output directory cannot be written
        print(f"msweep-report: {arguments.output}: cannot write the report: {error.strerror or error}", file=sys.stderr)
        return 2
    print(index)
    return 0


if __name__ == "__main__":
    sys.exit(main())
