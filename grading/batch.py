"""Grade a whole class: find the submissions, grade each on its own, write results, gradebook and plot.

    entries = discover(SUBMISSIONS)               # grading/roster.py: folders, zips, a Gradescope export
    grade_all(entries, pristine, problems, limits, out, jobs, executor)

Output (OUT/; names starting with "." are the run's own: the unpacked export, submitit's job folders):
    <submission>/results.json   Gradescope's format, written atomically; its presence marks the
                                submission done, so a second run (after a crash) skips it
    gradebook.csv, grades.png   the class's table and plot (grading/gradebook.py)

Every submission is read by this (trusted) process before any student code runs, so one submission
that rewrites another's folder changes nothing that is graded. Each is graded by grading.grader.grade
in a process of its own (one fresh process per submission, a child subreaper that kills whatever the
submission left running when its grading ends), in a work directory of its own. On one machine a
local pool runs N at a time; on a cluster each submission is one Slurm job through submitit (the
same job function; tested with submitit's LocalExecutor), so no scheduler is written here.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from grading.gradebook import plot_grades, write_gradebook
from grading.grader import GRADER_ROOT, GradeResult, Limits, grade
from grading.honour import scan_files
from grading.registry import Problem
from grading.roster import Entry
from grading.scoring import ProblemScore, results_json, write_json
from grading.submission import Submission, SubmissionError, read_submission

RESULTS = "results.json"
GRADEBOOK = "gradebook.csv"
PLOT = "grades.png"
EXECUTORS = ("local", "slurm", "submitit-local")
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


# ---- grading one submission (runs in a process of its own) --------------------------------------------


def _become_subreaper() -> bool:
    """Orphans of this process's descendants (a double-forked daemon) become its children (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _descendants() -> list[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier}
        found += frontier
    return found


def kill_descendants(rounds: int = 50) -> int:
    """SIGKILL every process below this one (a subreaper inherits the detached ones); how many were killed."""
    killed = set()
    for _ in range(rounds):
        pids = _descendants()
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
        time.sleep(0.02)
    return len(killed)


@dataclass(frozen=True)
class Task:
    """What a grading process needs: plain data only (it may travel to a cluster node as a pickle)."""

    entry: Entry
    submission: Submission | None
    error: str | None
    """Why the submission could not be read (then it scores 0 without running anything)."""
    pristine: Path
    problems: tuple[Problem, ...]
    limits: Limits
    out: Path
    hide: tuple[Path, ...] = ()
    """Folders the sandboxed worker must not see: where the class's submissions and results lie."""
    staff: Path | None = GRADER_ROOT
    """The staff checkout whose held-out tests are graded too (None: only the pristine tree's tests)."""


def grade_one(task: Task) -> dict:
    """Grade one submission, write OUT/<key>/results.json atomically and return it."""
    problems = list(task.problems)
    if task.submission is None:
        result = GradeResult([ProblemScore(p) for p in problems], {}, {}, [f"the submission could not be read: {task.error}"])
    else:
        subreaper = _become_subreaper()
        try:
            result = grade(task.submission, task.pristine, problems, task.limits, hide=task.hide, staff=task.staff)
        finally:
            left = kill_descendants() if subreaper else 0
        if left:
            result.notes.append(f"{left} process(es) the submission left running were killed after grading")
    results = results_json(result.scores, result.elapsed, result.report())
    honour = {}
    for f in scan_files(task.submission.files if task.submission else {}, task.pristine):
        honour.setdefault(f.problem, []).append(str(f))
    # Gradescope's results.json allows a top-level extra_data object: the gradebook reads it back on a rerun.
    results["extra_data"] = {
        "submission": task.entry.key, "student": task.entry.student, "email": task.entry.email,
        "honour": honour, "grader_error": result.error,
    }  # fmt: skip
    write_json(task.out / task.entry.key / RESULTS, results)
    return results


# ---- the class ---------------------------------------------------------------------------------------


def load_done(out: Path, entry: Entry) -> dict | None:
    """The submission's results.json from an earlier run, if it finished without a grader error."""
    path = out / entry.key / RESULTS
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(results, dict) or (results.get("extra_data") or {}).get("grader_error"):
        return None
    return results


def hidden_folders(entries, out) -> tuple[Path, ...]:
    """The folders holding the submissions (and the results): no student's worker may read a classmate's."""
    folders = {Path(e.path).resolve().parent for e in entries} | {Path(out).resolve()}
    return tuple(sorted(f for f in folders if f != Path(f.anchor)))


def make_tasks(entries, pristine, problems, limits, out, staff: Path | None = GRADER_ROOT) -> list[Task]:
    """Read every submission now, before any student code runs."""
    hide = hidden_folders(entries, out)
    tasks = []
    for entry in entries:
        try:
            submission, error = read_submission(entry.path), None
        except (SubmissionError, OSError) as e:
            submission, error = None, str(e)
        tasks.append(Task(entry, submission, error, Path(pristine), tuple(problems), limits, Path(out), hide, staff))
    return tasks


def _run_local(tasks: list[Task], jobs: int, bar) -> dict[str, dict]:
    done = {}
    # spawn + one task per process: each submission gets a fresh interpreter (no state from the previous one)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
        futures = {pool.submit(grade_one, t): t for t in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                done[task.entry.key] = future.result()
            except Exception as e:  # the grading process itself died: a grader error, retried on the next run
                done[task.entry.key] = _failed(task, f"the grading process failed: {type(e).__name__}: {e}")
            bar.update(1)
    return done


def _run_submitit(tasks: list[Task], jobs: int, executor: str, bar, slurm: dict) -> dict[str, dict]:
    import submitit  # staff dependency group

    out = tasks[0].out
    folder = out / ".submitit" / "%j"
    limits = tasks[0].limits
    minutes = int((limits.wall_limit * (len(tasks[0].problems) / limits.jobs + 1) + 300) / 60) + 1
    if executor == "slurm":
        ex = submitit.AutoExecutor(folder=folder, cluster="slurm")
        ex.update_parameters(timeout_min=minutes, cpus_per_task=limits.jobs, slurm_array_parallelism=jobs, **slurm)
    else:
        ex = submitit.LocalExecutor(folder=folder)
        ex.update_parameters(timeout_min=minutes)
    submitted = ex.map_array(grade_one, tasks)
    pending = dict(zip(submitted, tasks))
    done = {}
    while pending:
        for job, task in list(pending.items()):
            if not job.done():
                continue
            del pending[job]
            # Read the JSON the job wrote, not the job's pickled return value: nothing a node wrote is unpickled.
            results = load_done(out, task.entry)
            if results is None:
                tail = (job.stderr() or "")[-1500:]
                results = _failed(task, f"the {executor} job {job.job_id} ended ({job.state}) without results:\n{tail}")
            done[task.entry.key] = results
            bar.update(1)
        if pending:
            time.sleep(0.5)
    return done


def _failed(task: Task, error: str) -> dict:
    result = GradeResult([ProblemScore(p) for p in task.problems], {}, {}, [], error=error)
    results = results_json(result.scores, 0, result.report())
    results["extra_data"] = {"submission": task.entry.key, "student": task.entry.student, "email": task.entry.email,
                             "honour": {}, "grader_error": error}  # fmt: skip
    write_json(task.out / task.entry.key / RESULTS, results)
    return results


def grade_all(
    entries: list[Entry],
    pristine: Path,
    problems: list[Problem],
    limits: Limits,
    out: Path,
    jobs: int = 1,
    executor: str = "local",
    slurm: dict | None = None,
    progress: bool = True,
    staff: Path | None = GRADER_ROOT,
) -> dict[str, dict]:
    """Grade every entry not already done; return {key: results} for all of them and write the gradebook."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}; received {executor!r}")
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1; received {jobs}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = {e.key: r for e in entries if (r := load_done(out, e)) is not None}
    todo = [e for e in entries if e.key not in results]
    with tqdm(total=len(entries), initial=len(results), desc="grading", unit="submission", disable=not progress) as bar:
        if todo:
            tasks = make_tasks(todo, pristine, problems, limits, out, staff)
            if executor == "local":
                fresh = _run_local(tasks, jobs, bar)
            else:
                fresh = _run_submitit(tasks, jobs, executor, bar, slurm or {})
            for key, r in fresh.items():  # written again by this process: undoes any change made during the run
                write_json(out / key / RESULTS, r)
            results.update(fresh)
    write_gradebook(out / GRADEBOOK, entries, problems, results)
    plot_grades(out / PLOT, problems, [results[e.key] for e in entries])
    return results
