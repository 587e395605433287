"""The class's gradebook (CSV) and plot (PNG), from the per-submission results.json of grading/batch.py.

    gradebook.csv   student, email, submission, total, one column per problem, honour_notes, grader_error
    grades.png      the distribution of totals and each problem's pass rate (full marks)

Both are rebuilt from the results on every run and written atomically (a temporary file, then os.replace).
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from grading.registry import Problem


def gradebook_rows(entries: list, problems: list[Problem], results: dict[str, dict]) -> list[dict]:
    """One row per entry (grading.batch.Entry) in the order given, read from its results.json data."""
    rows = []
    for e in entries:
        r = results[e.key]
        extra = r.get("extra_data") or {}
        by_problem = {t["number"]: t["score"] for t in r.get("tests", [])}
        row = {"student": e.student, "email": e.email, "submission": e.key, "total": r.get("score", 0)}
        row.update({p.id: by_problem.get(p.id, 0) for p in problems})
        row["honour_notes"] = " ".join(sorted(extra.get("honour") or {}))
        row["grader_error"] = "yes" if extra.get("grader_error") else ""
        rows.append(row)
    return rows


def write_gradebook(path: Path, entries: list, problems: list[Problem], results: dict[str, dict]) -> None:
    """gradebook.csv, atomically: student, email, submission, total, one column per problem, flags."""
    rows = gradebook_rows(entries, problems, results)
    buffer = io.StringIO()
    fields = ["student", "email", "submission", "total", *(p.id for p in problems), "honour_notes", "grader_error"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(tmp, path)


def plot_grades(path: Path, problems: list[Problem], results: list[dict]) -> None:
    """grades.png: a histogram of the totals and the share of submissions with full marks on each problem."""
    # the object API: no pyplot state, and the Agg canvas by default
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    totals = [r.get("score", 0) for r in results]
    max_score = sum(p.points for p in problems)
    passed = {p.id: 0 for p in problems}
    for r in results:
        for t in r.get("tests", []):
            if t["number"] in passed and t.get("status") == "passed":
                passed[t["number"]] += 1
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.6])
    left.hist(totals, bins=min(20, max(5, max_score)), range=(0, max_score), color="tab:blue", edgecolor="white")
    left.set(title=f"Total score ({len(results)} submissions)", xlabel=f"points (of {max_score})", ylabel="submissions")
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    rates = [passed[p.id] / max(1, len(results)) for p in problems]
    right.bar(range(len(problems)), rates, color="tab:green")
    right.set_xticks(range(len(problems)), [p.id for p in problems], rotation=60, ha="right", fontsize=8)
    right.set(title="Pass rate per problem (full marks)", ylabel="share of submissions", ylim=(0, 1))
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)
