"""The isolated grading mode: the wire format, the worker's sandbox, process pools inside it, and the
runner's failure modes when student code runs in workers (grading/isolation/)."""

from __future__ import annotations

import io
import json
import os
import pathlib
import shutil
import sys
import textwrap

import numpy as np
import pytest
import torch

from grading.grader import Limits, grade
from grading.isolation import RemoteError, jail, proxy, wire
from grading.registry import parse_problems
from grading.submission import read_submission
from tests.staff.conftest import REPO
from tests.staff.submissions import mini

pytestmark = [pytest.mark.staff, pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root (as on Gradescope)")]


# ---- the wire format -------------------------------------------------------------------------------


def round_trip(value):
    blobs: list[bytes] = []
    header = json.loads(json.dumps(wire.encode(value, blobs)))
    return wire.decode(header, blobs)


def test_plain_data_round_trips_with_types_dtypes_and_values():
    vocab = {i: bytes([i % 256]) * (i % 3) for i in range(300)}
    merges = [(b"a", b"b"), (b"\x00", b"")] * 100
    value = [1, -2**70, 2.5, float("inf"), None, True, "naïve", b"\xff\x00", b"x" * 2000, (1, (2,)), {1: "a", (2, 3): b""},
             vocab, merges, pathlib.Path("/a/b"), torch.float64, torch.device("cpu"), {3, 4}]  # fmt: skip
    got = round_trip(value)
    assert got == value and [type(g) for g in got] == [type(v) for v in value]
    for tensor in (torch.randn(3, 4, dtype=torch.float64), torch.randn(2, 2).bfloat16(), torch.arange(5), torch.ones(0, 3)):
        back = round_trip(tensor)
        assert back.dtype == tensor.dtype and back.shape == tensor.shape and torch.equal(back, tensor)
    array = np.arange(6, dtype=np.uint16).reshape(2, 3)
    assert round_trip(array).dtype == np.uint16 and (round_trip(array) == array).all()
    assert type(round_trip(np.float32(1.5))) is np.float32


def test_a_non_plain_value_is_refused_unless_the_sender_makes_it_a_handle():
    with pytest.raises(wire.WireError, match="not plain data"):
        wire.encode(torch.nn.Linear(2, 2), [])
    with pytest.raises(wire.WireError, match="objects"):
        wire.encode(np.array([object()]), [])
    table = []
    header = wire.encode([torch.nn.Linear(2, 2)], [], lambda obj: table.append(obj) or wire.Handle(len(table), "Linear"))
    assert header == [{"$": "handle", "id": 1, "type": "Linear"}]


def test_a_remote_object_forwards_public_methods_and_prints_locally():
    from hypothesis.vendor.pretty import pretty

    obj = proxy.RemoteObject(connection=None, id=7, type_name="Tokenizer", generation=0)
    assert callable(obj.encode)
    # A Hypothesis report prints every argument, fixtures included: that must not become a call into the worker.
    assert not hasattr(obj, "_repr_pretty_")
    assert pretty(obj) == "<remote Tokenizer #7>"


def test_a_pickle_in_a_blob_is_never_loaded():
    buf = io.BytesIO()
    np.save(buf, np.array([{"boom": 1}], dtype=object), allow_pickle=True)  # an .npy holding a pickle
    with pytest.raises(ValueError, match="allow_pickle"):
        wire.decode({"$": "ndarray", "i": 0}, [buf.getvalue()])
    with pytest.raises(wire.WireError, match="unknown tag"):
        wire.decode({"$": "pickle", "v": "gASV"}, [])


# ---- the sandboxed worker --------------------------------------------------------------------------


@pytest.fixture
def worker(tmp_path):
    """call(code) runs `code` in a fresh sandboxed worker and returns its `out` variable."""
    tree = tmp_path / "worker"
    (tree / "tests").mkdir(parents=True)
    (tree / "cs336_basics").mkdir()
    (tree / "tests" / "__init__.py").write_text("")
    (tree / "cs336_basics" / "__init__.py").write_text("")
    (tree / "cs336_basics" / "trainer.py").write_text(TRAINER)
    (tree / "tests" / "adapters.py").write_text("def probe(code, *args):\n    scope = {}\n    exec(code, scope)\n    return scope.get('out')\n")
    view, shared = tmp_path / "trusted", tmp_path / "shared"
    view.mkdir()
    shared.mkdir()
    cage = jail.Jail(view_tree=view, worker_tree=tree, shared=shared, log=tmp_path / "worker.log",
                     uid_log=tmp_path / "uids", hide=[tmp_path, REPO], disk_bytes=32 * 2**20)  # fmt: skip
    # The grader's worker is forked from `python -m grading.runner`: its __main__ is a module the worker
    # tree lacks, which spawn/forkserver children would try to re-import.
    import grading.runner

    # A parent that already runs a resource tracker and a forkserver (a grade-all process, a test session
    # that used a pool before): the forked worker must not reuse their pipes or their temp folder.
    from multiprocessing import forkserver, resource_tracker

    resource_tracker.ensure_running()
    forkserver.ensure_running()
    main = sys.modules["__main__"]
    sys.modules["__main__"] = grading.runner
    try:
        zygote = jail.Zygote(cage)
    finally:
        sys.modules["__main__"] = main
    connection = proxy.Connection(zygote, shared)
    probe = proxy.RemoteFunction(connection, "tests.adapters", "probe")

    def call(code: str):
        return probe(textwrap.dedent(code))

    call.connection, call.shared, call.tmp = connection, shared, tmp_path
    yield call
    connection.stop()
    zygote.close()


# A student-style trainer: a worker pool on an explicit start method, calling a function of the package.
TRAINER = """
import multiprocessing


def square(x):
    return x * x


def train(method):
    with multiprocessing.get_context(method).Pool(2) as pool:
        return pool.map(square, range(5))
"""


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_process_pool_of_any_start_method_works_in_the_worker(worker, method):
    # Children re-import __main__: before the fix they looked for grading.runner and hung.
    assert worker(f"from cs336_basics.trainer import train; out = train({method!r})") == [0, 1, 4, 9, 16]


def test_the_worker_runs_under_its_own_uid_without_network_or_the_graders_processes(worker):
    out = worker("""
        import os, socket
        try:
            socket.create_connection(("1.1.1.1", 53), timeout=2)
            net = "connected"
        except OSError as e:
            net = type(e).__name__
        out = (os.getuid(), net, sorted(int(p) for p in os.listdir("/proc") if p.isdigit()), dict(os.environ))
    """)
    uid, net, pids, env = out
    assert uid >= jail.UID_BASE, f"the worker runs as uid {uid}"
    assert net != "connected"
    assert max(pids) < 100, f"the worker sees host processes: {pids}"  # its own PID namespace
    assert set(env) <= set(jail.WORKER_ENV), f"inherited variables: {sorted(set(env) - set(jail.WORKER_ENV))}"


def test_the_worker_cannot_read_the_staff_checkout_or_import_the_staff_solution(worker):
    out = worker(f"""
        import importlib.util, os
        seen = []
        for path in [{str(REPO / "cs336_basics" / "__init__.py")!r}, {str(REPO / "tests" / "oracles" / "model.py")!r}]:
            try:
                open(path).read()
                seen.append(path)
            except OSError:
                pass
        out = seen, os.listdir({str(REPO)!r}), importlib.util.find_spec("cs336_basics.nn")
    """)
    readable, listing, staff_nn = out
    assert readable == [] and set(listing) <= {".venv"}, f"the worker sees {readable} and {listing}"
    assert staff_nn is None, "the staff cs336_basics.nn is importable in the worker"


def test_everything_the_worker_started_is_killed_and_its_tmp_is_gone(worker):
    pid = worker("""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:  # a double-forked daemon outside the worker's session
                while True:
                    time.sleep(0.1)
            os._exit(0)
        with open("/tmp/cs336-leftover", "wb") as f:
            f.write(b"x" * 2**20)
        out = os.getuid()
    """)
    marker = pathlib.Path("/tmp/cs336-leftover")
    assert not marker.exists(), "the worker's /tmp is the machine's"
    uid = pid
    assert jail.processes_of(uid), "the daemon should still run while the worker does"
    worker.connection.stop()
    assert jail.processes_of(uid) == []


def test_the_worker_cannot_fill_the_disk(worker):
    with pytest.raises(RemoteError, match="No space left"):
        worker("""
            with open("/tmp/big", "wb") as f:
                for _ in range(64):
                    f.write(b"x" * 2**20)
        """)


def test_a_path_under_the_shared_folder_is_writable_by_the_worker(worker):
    target = worker.shared / "case0" / "out.txt"
    target.parent.mkdir()
    os.chmod(target.parent, 0o700)
    code = f"open({str(target)!r}, 'w').write('hi'); out = 2"
    with pytest.raises(RemoteError, match="Permission denied"):  # root's 0700 folder
        worker(code)
    probe = proxy.RemoteFunction(worker.connection, "tests.adapters", "probe")
    assert probe(code, target) == 2  # as an argument, the proxy opens the path up to the worker
    assert target.read_text() == "hi"


def test_a_crash_or_timeout_costs_one_call_and_the_next_call_gets_a_fresh_worker(worker):
    with pytest.raises(RemoteError, match="SIGSEGV"):
        worker("import ctypes; ctypes.string_at(0)")
    assert worker("out = 5") == 5
    with pytest.raises(RemoteError, match="exit status 3"):
        worker("import os; os._exit(3)")
    assert worker("out = 6") == 6


# ---- the runner's failure modes with the submission in workers (the synthetic mini tree) -----------

# In-process expectations are mini.EXPECTED; in isolated mode the trusted process is never the one that
# crashes, and a loop that blocks SIGALRM only blocks it in the worker: the per-test timeout still fires.
EXPECTED_ISOLATED: dict[str, tuple[float, dict[str, str | None]]] = {
    "restart": (2, {"test_first": None, "test_segfaults": "SIGSEGV", "test_after_the_crash": None}),
    "exits": (1, {"test_sys_exit": "SystemExit", "test_os_exit": "exit status 0", "test_fine": None}),
    "hang": (1, {"test_hangs": "timed out", "test_never_reached": None}),
    "skips": (1, {"test_runtime_skip": "Skipped", "test_passes[1]": None, "test_passes[2]": None}),
    "import_hang": (0, {"test_needs_the_module": "never imports cs336_basics"}),
    "collect": (0, {"test_uses_the_missing_hook": "cannot import name 'needed_by_collect'"}),
}


@pytest.fixture(scope="module")
def mini_isolated(tmp_path_factory):
    root = tmp_path_factory.mktemp("mini-isolated")
    pristine, submission_dir = mini.make_tree(root, REPO / "grading" / "registry.py", REPO / "tests" / "conftest.py")
    problems = [p for p in parse_problems(mini.MINI_PROBLEMS) if p.autograded]
    limits = Limits(test_timeout=2, wall_limit=20, import_timeout=5, memory_mb=512, jobs=2)
    return grade(read_submission(submission_dir), pristine, problems, limits, staff=None)


@pytest.mark.parametrize("problem", list(EXPECTED_ISOLATED))
def test_isolated_failure_modes_score_and_explain_each_test(mini_isolated, problem):
    expected_score, tests = EXPECTED_ISOLATED[problem]
    score = next(s for s in mini_isolated.scores if s.problem.id == problem)
    by_name = {t.nodeid.split("::")[-1]: t for t in score.tests}
    assert set(by_name) == set(tests), f"graded tests {sorted(by_name)}; expected {sorted(tests)}"
    for name, text in tests.items():
        t = by_name[name]
        if text is None:
            assert t.passed, f"{name} should pass: {t.message}"
        else:
            assert not t.passed and text in t.message, f"{name}: expected {text!r} in {t.message!r}"
    assert score.earned == expected_score, score.output()


# ---- the trees -------------------------------------------------------------------------------------


def test_a_submitted_module_replaces_the_starters_module_of_the_same_name_whatever_its_form(tmp_path):
    from grading.submission import Submission, overlay

    (tmp_path / "cs336_basics" / "tokenizer").mkdir(parents=True)
    (tmp_path / "cs336_basics" / "tokenizer" / "__init__.py").write_text("STARTER = True\n")
    (tmp_path / "cs336_basics" / "data.py").write_text("STARTER = True\n")
    overlay(Submission({"cs336_basics/tokenizer.py": b"MINE = 1\n", "cs336_basics/data/__init__.py": b"MINE = 2\n"}), tmp_path)
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["cs336_basics/data/__init__.py", "cs336_basics/tokenizer.py"]


def test_the_worker_tree_holds_the_submission_and_inputs_but_no_test_oracle_or_expected_value(tmp_path):
    from grading.grader import make_worker_tree
    from grading.submission import Submission

    pristine = tmp_path / "pristine"
    shutil.copytree(REPO / "tests", pristine / "tests", ignore=shutil.ignore_patterns("__pycache__", "staff"))
    shutil.copytree(REPO / "cs336_basics", pristine / "cs336_basics", ignore=shutil.ignore_patterns("__pycache__"))
    make_worker_tree(pristine, Submission({"tests/adapters.py": b"# mine\n"}), tmp_path / "worker")
    files = {p.relative_to(tmp_path / "worker").as_posix() for p in (tmp_path / "worker").rglob("*") if p.is_file()}
    assert (tmp_path / "worker" / "tests" / "adapters.py").read_text() == "# mine\n"
    assert "tests/scenarios.py" in files and any(f.startswith("tests/fixtures/bpe_corpora/") for f in files)
    leaked = [f for f in files if f.endswith((".npz", ".npy")) or "/test_" in f or "oracles" in f or f.endswith("conftest.py")]
    assert leaked == [], f"the worker could read {leaked}"


def test_the_trusted_process_gets_a_fresh_heldout_seed_that_no_worker_can_find(tmp_path):
    pristine, submission_dir = mini.make_tree(tmp_path, REPO / "grading" / "registry.py", REPO / "tests" / "conftest.py")
    (pristine / "tests" / "test_collect.py").write_text(textwrap.dedent("""
        import os
        import pytest
        from tests import adapters

        pytestmark = pytest.mark.problem("collect")

        def test_seed_is_here_and_not_there():
            seed = os.environ["CS336_HELDOUT_SEED"]
            assert seed.isdigit()
            env, candidates = adapters.needed_by_collect()
            assert not env and seed not in candidates and int(seed) not in candidates, "the worker found the held-out seed"
    """))
    (submission_dir / "tests" / "adapters.py").write_text(textwrap.dedent("""
        def needed_by_collect():
            import gc, os
            found = set()  # every long number in any dict or list of this process's memory
            for o in gc.get_objects():
                values = o.values() if isinstance(o, dict) else o if isinstance(o, list) else ()
                for v in list(values):
                    if (type(v) is int and v > 2**40) or (type(v) is str and v.isdigit() and len(v) >= 12):
                        found.add(v)
            try:
                environ = open("/proc/self/environ", "rb").read()
            except OSError:  # after setuid the process is not dumpable: /proc/self is root's
                environ = b""
            return "CS336_HELDOUT_SEED" in os.environ or b"HELDOUT" in environ, sorted(found, key=str)[:100000]
    """))
    problems = [p for p in parse_problems(mini.MINI_PROBLEMS) if p.id == "collect"]
    result = grade(read_submission(submission_dir), pristine, problems, Limits(test_timeout=10, jobs=1), staff=None)
    assert result.score == 1, result.report()
