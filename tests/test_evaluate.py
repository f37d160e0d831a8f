"""`council-qa eval` end to end: a small gold file over its own documents folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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


def run_eval(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    gold = tmp_path / "small.jsonl"
    gold.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in GOLD) + "\n", encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "eval", "--gold", str(gold), "--documents", str(DOCUMENTS),
         "--index", str(tmp_path / "index"), *extra],
        capture_output=True, text=True, timeout=900, check=False,
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
