"""The honour-rules report (grading/honour.py): built-ins a submission uses that students must write,
each a visible note on its problem in results.json, never a deduction.

The expected findings are written by hand for each snippet (which line uses which built-in, and the
handout problem it belongs to); the reference must have none.
"""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest

from grading.cli import main as cs336
from grading.grader import GradeResult
from grading.honour import FORBIDDEN, attach_notes, scan_files, scan_source
from grading.registry import load_problems
from grading.release import is_staff_only
from grading.scoring import ProblemScore
from grading.submission import Submission, read_submission
from tests.staff.conftest import REPO

pytestmark = pytest.mark.staff

PROBLEM_IDS = {p.id for p in load_problems()}


def found(source: str, path: str = "cs336_basics/nn/layers.py") -> list[tuple[int, str, str]]:
    return [(f.line, f.name, f.problem) for f in scan_source(textwrap.dedent(source), path)]


def test_every_forbidden_builtin_belongs_to_a_problem_of_the_registry():
    assert set(FORBIDDEN.values()) <= PROBLEM_IDS, set(FORBIDDEN.values()) - PROBLEM_IDS


def test_aliases_are_resolved_through_the_imports():
    source = """\
        import torch
        import torch.nn.functional as F
        from torch import nn
        from torch.nn import Linear, Embedding as Emb
        import torch.optim as optim

        def f(x, y, w):
            a = F.softmax(x, dim=-1)
            b = Linear(2, 3)
            c = Emb(10, 4)
            d = nn.functional.cross_entropy(x, y)
            e = torch.nn.modules.linear.Linear(2, 3)
            g = optim.AdamW(w)
            h = x.softmax(-1)
            i = getattr(F, "scaled_dot_product_attention")
            return torch.nn.utils.clip_grad_norm_(w, 1.0)
    """
    assert found(source) == [
        (4, "torch.nn.Embedding", "embedding"),
        (4, "torch.nn.Linear", "linear"),
        (8, "torch.nn.functional.softmax", "softmax"),
        (9, "torch.nn.Linear (as Linear)", "linear"),
        (10, "torch.nn.Embedding (as Emb)", "embedding"),
        (11, "torch.nn.functional.cross_entropy", "cross_entropy"),
        (12, "torch.nn.Linear", "linear"),
        (13, "torch.optim.AdamW", "adamw"),
        (14, ".softmax", "softmax"),
        (15, "getattr(..., 'scaled_dot_product_attention')", "scaled_dot_product_attention"),
        (16, "torch.nn.utils.clip_grad_norm_", "gradient_clipping"),
    ]


def test_star_imports_and_tokenizer_libraries_are_caught():
    source = """\
        from torch.nn.functional import *
        import tiktoken

        def loss(logits, y):
            return cross_entropy(logits, y)
    """
    assert found(source, "cs336_basics/tokenizer/bpe.py") == [
        (2, "tiktoken", "tokenizer"),
        (5, "torch.nn.functional.cross_entropy (as cross_entropy)", "cross_entropy"),
    ]


def test_comments_strings_and_the_submissions_own_functions_are_not_flagged():
    source = '''\
        """Unlike F.softmax, this never overflows (torch.nn.Linear is not used)."""
        import torch
        from torch import nn
        from . import functional
        from .functional import softmax
        from cs336_basics.nn import functional as own

        # torch.nn.functional.softmax would be the oracle
        class Attention(nn.Module):
            def softmax(self, x):
                return functional.softmax(x, -1) + own.softmax(x, -1)

            def forward(self, x):
                return self.softmax(x) + softmax(x, -1) + torch.exp(x) + nn.Parameter(x)
    '''
    assert found(source, "cs336_basics/nn/attention.py") == []


def test_torch_optim_allows_only_the_optimizer_base_class():
    source = """\
        import torch
        from torch.optim import Optimizer, lr_scheduler

        class AdamW(torch.optim.Optimizer):
            pass

        s = torch.optim.SGD
    """
    assert found(source, "cs336_basics/optim/adamw.py") == [
        (2, "torch.optim.lr_scheduler", "learning_rate_schedule"),
        (7, "torch.optim.SGD", "adamw"),
    ]


def test_reference_submission_has_no_finding():
    # What a student would submit: the reference without the staff-only files (the fast path may use built-ins)
    files = {rel: data for rel, data in read_submission(REPO).files.items() if not is_staff_only(rel)}
    assert any(rel.startswith("cs336_basics/nn/") for rel in files) and "tests/adapters.py" in files
    assert not any(rel.startswith("cs336_basics/fast/") for rel in files)
    assert scan_files(files) == [], "\n".join(map(str, scan_files(files)))


def test_files_identical_to_the_starters_are_skipped(tmp_path):
    provided = b"import torch\nopt = torch.optim.AdamW\n"
    (tmp_path / "cs336_basics" / "training").mkdir(parents=True)
    (tmp_path / "cs336_basics" / "training" / "loop.py").write_bytes(provided)
    assert scan_files({"cs336_basics/training/loop.py": provided}, tmp_path) == []
    edited = scan_files({"cs336_basics/training/loop.py": provided + b"opt2 = torch.optim.Adam\n"}, tmp_path)
    assert [(f.line, f.name) for f in edited] == [(2, "torch.optim.AdamW"), (3, "torch.optim.Adam")]
    assert scan_files({"README.py": provided, "tests/test_x.py": provided}) == []  # not graded files


def test_a_note_goes_on_its_problem_or_to_the_overall_notes_when_that_problem_is_not_graded():
    problems = {p.id: p for p in load_problems()}
    result = GradeResult([ProblemScore(problems["softmax"]), ProblemScore(problems["linear"])], {}, {})
    files = {"tests/adapters.py": b"import torch\ndef run_softmax(x, dim):\n    return torch.softmax(x, dim)\n"
             b"def get_adamw_cls():\n    return torch.optim.AdamW\n"}  # fmt: skip
    attach_notes(result, Submission(files), None)
    softmax, linear = result.scores
    assert len(softmax.notes) == 1 and "tests/adapters.py:3 (run_softmax) uses torch.softmax" in softmax.notes[0]
    assert "staff decide" in softmax.notes[0] and not linear.notes
    assert len(result.notes) == 1 and result.notes[0].startswith("[adamw] Honour rules")


@pytest.fixture(scope="module")
def planted_results(tmp_path_factory) -> dict:
    """The reference with its softmax replaced by torch's, graded on softmax and linear by `cs336 grade`."""
    tmp = tmp_path_factory.mktemp("planted")
    submission = tmp / "submission"
    # (without the staff-only fast path, which a student's package does not have)
    shutil.copytree(REPO / "cs336_basics", submission / "cs336_basics", ignore=shutil.ignore_patterns("__pycache__", "fast"))
    (submission / "tests").mkdir()
    shutil.copy2(REPO / "tests" / "adapters.py", submission / "tests" / "adapters.py")
    functional = submission / "cs336_basics" / "nn" / "functional.py"
    text = functional.read_text()
    own = "    # BEGIN SOLUTION\n    row_max = x.amax(dim=dim, keepdim=True)\n"
    assert text.count(own) == 1, "the reference's softmax body moved: update this test"
    functional.write_text(text.replace(own, "    return torch.nn.functional.softmax(x, dim=dim)\n" + own))
    out = tmp / "results.json"
    assert cs336(["grade", str(submission), "--results", str(out), "--problems", "softmax,linear", "--jobs", "2"]) == 0
    return json.loads(out.read_text())


def test_planted_torch_softmax_shows_a_note_on_the_softmax_problem(planted_results):
    tests = {t["number"]: t for t in planted_results["tests"]}
    note = tests["softmax"]["output"]
    assert "Honour rules" in note and "cs336_basics/nn/functional.py:" in note, note
    assert "(softmax) uses torch.nn.functional.softmax" in note and "staff decide" in note, note
    assert "Honour rules" not in tests["linear"]["output"] and tests["linear"]["score"] == tests["linear"]["max_score"]
