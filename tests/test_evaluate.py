"""`council-qa eval` end to end: a small gold file over its own documents folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import build_parser, main
from assistant.evaluate import LOWER_IS_BETTER
from assistant.metrics import SUMMARY_KEYS

from .conftest import ANSWER_DOC, DOCUMENTS

GOLD = [
    {
        "id": "t1",
        "language": "sv",
        "question": "Hur många socialsekreterare slutade under 2024?",
        "answerable": True,
        "answer": "21 socialsekreterare slutade eller bytte tjänst januari–november 2024.",
        "facts": [["21"]],
        "sources": [
            {
                "document": ANSWER_DOC,
                "quote": "Det är 21 socialsekreterare som slutat eller bytt tjänst under perioden",
            }
        ],
    },
    {
        "id": "t2",
        "language": "en",
        "question": "How many social workers left Kumla during 2025?",
        "answerable": True,
        "answer": "14 of 42 social workers left during 2025.",
        "facts": [["14"]],
        "sources": [
            {
                "document": "kumla-interpellation-2026-05-12-rorlighet-bland-socialsekreterare.txt",
                "quote": "framkom att 14 socialsekreterare slutat under året",
            }
        ],
    },
    {
        "id": "t3",
        "language": "sv",
        "question": "Hur många socialsekreterare slutade i Malmö 2023?",
        "answerable": False,
        "answer": "Handlingarna säger inget om Malmö.",
        "facts": [],
        "sources": [],
    },
]


def write_gold(tmp_path: Path, questions: list[dict[str, object]] = GOLD) -> Path:
    gold = tmp_path / "small.jsonl"
    gold.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in questions) + "\n", encoding="utf-8")
    return gold


def run_eval(
    tmp_path: Path, *extra: str, gold: list[dict[str, object]] = GOLD, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "eval", "--gold", str(write_gold(tmp_path, gold)),
         "--documents", str(DOCUMENTS), "--index", str(tmp_path / "index"), *extra],
        capture_output=True, text=True, timeout=900, check=False, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_eval_writes_table_json_report_and_chart(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_eval(
        tmp_path,
        "--compare", "hybrid,dense,lexical",
        "--json", str(out / "results.json"),
        "--report", str(out / "report.md"),
        "--fail-under", "hit@10=0.5",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for metric in ("hit@5", "mrr@10", "fact_recall", "abstention_accuracy"):
        assert metric in result.stdout
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert set(data["summary"]) == set(SUMMARY_KEYS)
    assert set(data["by_language"]) == {"sv", "en"}
    assert set(data["modes"]) == {"hybrid", "dense", "lexical"}
    assert data["summary"]["n_questions"] == 3
    assert [q["id"] for q in data["questions"]] == ["t1", "t2", "t3"]
    first = data["questions"][0]
    assert first["retrieved_ids"] and first["answer_text"] and "facts_matched" in first
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "report.png" in report and "hit@5" in report
    png = (out / "report.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_fail_under_sets_the_exit_code(tmp_path: Path) -> None:
    result = run_eval(tmp_path, "--fail-under", "hit@1=1.01")
    assert result.returncode == 1
    assert "hit@1" in result.stderr and "below" in result.stderr


def test_bad_gold_file_names_line_and_field(tmp_path: Path) -> None:
    gold = tmp_path / "bad.jsonl"
    gold.write_text(json.dumps({**GOLD[0], "language": "de"}) + "\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "eval", "--gold", str(gold), "--index", str(tmp_path / "i")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "bad.jsonl:1" in result.stderr and "language" in result.stderr
    assert "Traceback" not in result.stderr


def test_failed_questions_are_printed_once_each_and_fail_the_run(tmp_path: Path) -> None:
    """Every question failed (an unreadable terms file) and eval exited 0 with scores of 0.000; only
    --json told why."""
    missing = tmp_path / "nope.tsv"
    out = tmp_path / "results.json"
    result = run_eval(tmp_path, "--json", str(out), env={"COUNCIL_QA_TERMS": str(missing)})
    assert result.returncode == 1, result.stderr
    assert result.stderr.count(f"cannot read {missing}") == 1
    assert "3 of 3 questions failed (mode hybrid): ValueError: COUNCIL_QA_TERMS" in result.stderr
    assert "not trustworthy" in result.stderr
    data = json.loads(out.read_text(encoding="utf-8"))  # still written, for the details
    assert all(q["failure"] for q in data["questions"])


def test_fail_under_reads_latency_as_a_ceiling_and_names_an_unmeasured_metric(tmp_path: Path) -> None:
    """``retrieval_p95_ms=10000`` failed for being *below* 10 s, and abstention_accuracy with no
    unanswerable question failed as "None is below 0.9"."""
    result = run_eval(
        tmp_path,
        "--fail-under", "retrieval_p95_ms=100000", "false_abstention_rate=1", "hit@10=0",
        "retrieval_p50_ms=0.0001", "abstention_accuracy=0.9",
        gold=GOLD[:2],
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    failures = [line for line in result.stderr.splitlines() if line.startswith("FAIL: ")]
    assert len(failures) == 2, result.stderr
    assert failures[0].startswith("FAIL: retrieval_p50_ms = ") and failures[0].endswith(" is above 0.0001")
    assert failures[1] == (
        "FAIL: abstention_accuracy was not measured (no unanswerable questions in this gold set)"
    )


def test_repeated_fail_under_flags_add_up(capsys: pytest.CaptureFixture[str]) -> None:
    """With ``nargs="*"`` the last --fail-under replaced the ones before it."""
    parser = build_parser()
    argv = ["eval", "--fail-under", "hit@1=2", "--fail-under", "mrr@10=0.1", "ndcg@10=0.2"]
    assert parser.parse_args(argv).fail_under == ["hit@1=2", "mrr@10=0.1", "ndcg@10=0.2"]
    assert parser.parse_args(["eval"]).fail_under == []
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert all(metric in help_text for metric in LOWER_IS_BETTER)


def refused(tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``council-qa eval`` in process; assert it exits 2 before any index exists; return stderr."""
    index = tmp_path / "index"
    code = main(["eval", "--documents", str(DOCUMENTS), "--index", str(index), *argv])
    assert code == 2
    assert not index.exists(), "refused before the index was opened or built"
    return capsys.readouterr().err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_fail_under_refuses_a_bound_that_is_not_finite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """Nothing is below nan, so ``hit@1=nan`` was a gate that could never fail."""
    err = refused(tmp_path, ["--fail-under", f"hit@1={value}"], capsys)
    assert f"--fail-under 'hit@1={value}': '{value}' is not a finite number" in err


@pytest.mark.parametrize(
    ("outputs", "named"),
    [
        (["--json", "gold/copy.jsonl"], "--json gold/copy.jsonl is the --gold file"),
        (["--json", "gold/../gold/copy.jsonl"], "is the --gold file"),
        (["--report", "gold/copy.jsonl"], "--report gold/copy.jsonl is the --gold file"),
        (["--json", "out/r.md", "--report", "out/r.md"], "--report and --json are the same file"),
        (["--report", "out/r.png"], "writes its chart beside it as out/r.png, the report itself"),
        (["--report", "out/r.md", "--json", "out/r.png"], "as out/r.png, which is the --json file"),
        (["--json", "out"], "--json out is a folder"),
        (["--report", "gold/copy.jsonl/r.md"], "--report gold/copy.jsonl/r.md: gold/copy.jsonl is a file"),
    ],
)
def test_outputs_that_clash_or_cannot_be_written_are_refused_before_the_run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    outputs: list[str],
    named: str,
) -> None:
    """--json onto the gold file replaced it; --report r.png wrote the chart, then the Markdown over it;
    a folder as --json raised IsADirectoryError after the whole run."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "gold").mkdir()
    gold = write_gold(tmp_path / "gold")
    copy = gold.rename(tmp_path / "gold" / "copy.jsonl")
    before = copy.read_bytes()
    err = refused(tmp_path, ["--gold", "gold/copy.jsonl", *outputs], capsys)
    assert named in err and "Traceback" not in err
    assert copy.read_bytes() == before
    assert not (tmp_path / "out" / "r.png").exists() and not (tmp_path / "out" / "r.md").exists()
