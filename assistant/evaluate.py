"""``council-qa eval``: run a gold set through retrieval and the answer composer, score it, report it.

The same run scores several retrieval modes on the same questions so that a
change is always judged against its alternatives measured on the same machine
at the same moment.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .config import PROJECT_ROOT, RETRIEVAL_MODES, Settings
from .gold import GoldQuestion, load_gold
from .metrics import (
    SUMMARY_KEYS,
    QuestionResult,
    Span,
    evaluate_question,
    summarize,
    summarize_by_language,
    to_json,
)

DEFAULT_GOLD = PROJECT_ROOT / "eval" / "gold.jsonl"


def run_question(engine: Any, gold: GoldQuestion, mode: str, k: int) -> QuestionResult:
    from .answer import answer_from_hits

    t0 = time.perf_counter()
    failure = None
    try:
        hits = engine.search(gold.question, k=k, mode=mode)
        t1 = time.perf_counter()
        result = answer_from_hits(engine, gold.question, hits)
        t2 = time.perf_counter()
    except Exception as exc:  # one failing question is reported, not fatal to the run
        failure = f"{type(exc).__name__}: {exc}"
        hits, result = [], None
        t1 = t2 = time.perf_counter()
    cited = [] if result is None or result.abstained else result.citations
    return evaluate_question(
        id=gold.id,
        language=gold.language,
        question=gold.question,
        answerable=gold.answerable,
        gold=[Span(s.document, s.start, s.end) for s in gold.sources],
        facts=gold.facts,
        retrieved=[Span(h.chunk.doc_id, h.chunk.start, h.chunk.end) for h in hits],
        retrieved_ids=[h.chunk.chunk_id for h in hits],
        cited=[Span(c.doc_id, c.start, c.end) for c in cited],
        answer_text=result.text if result else "",
        abstained=bool(result and result.abstained),
        retrieval_ms=(t1 - t0) * 1000,
        answer_ms=(t2 - t1) * 1000,
        failure=failure,
    )


def evaluate(
    engine: Any, questions: Sequence[GoldQuestion], modes: Sequence[str], k: int, progress: bool = True
) -> dict[str, list[QuestionResult]]:
    results: dict[str, list[QuestionResult]] = {}
    for mode in modes:
        items: Sequence[GoldQuestion] = questions
        if progress:
            from tqdm import tqdm

            items = tqdm(questions, desc=f"eval {mode}", unit="q", file=sys.stderr)
        results[mode] = [run_question(engine, q, mode, k) for q in items]
    return results


def parse_thresholds(rules: Sequence[str]) -> list[tuple[str, float]]:
    """``--fail-under METRIC=VALUE`` rules as (metric, bound), read before the run so a typo costs no run."""
    thresholds = []
    for rule in rules:
        metric, sep, value = rule.partition("=")
        if not sep or metric not in SUMMARY_KEYS:
            raise ValueError(
                f"--fail-under {rule!r}: expected METRIC=VALUE with METRIC one of {', '.join(SUMMARY_KEYS)}"
            )
        try:
            thresholds.append((metric, float(value)))
        except ValueError:
            raise ValueError(f"--fail-under {rule!r}: {value!r} is not a number") from None
    return thresholds


def check_thresholds(summary: dict[str, Any], thresholds: Sequence[tuple[str, float]]) -> list[str]:
    """Human-readable failures: each metric below its bound (or missing from the run)."""
    failures = []
    for metric, bound in thresholds:
        actual = summary.get(metric)
        if actual is None or actual < bound:
            failures.append(f"{metric} = {actual} is below {bound}")
    return failures


def retrieval_modes(compare: str | None, default: str) -> list[str]:
    """The modes to run: ``--compare``'s, with the configured one first if missing; unknown ones refused."""
    modes = [m.strip() for m in (compare or default).split(",") if m.strip()]
    unknown = [m for m in modes if m not in RETRIEVAL_MODES]
    if unknown:
        known = ", ".join(RETRIEVAL_MODES)
        raise ValueError(f"--compare {compare!r}: unknown mode {unknown[0]!r}; use {known}")
    return modes if default in modes else [default, *modes]


def run_eval_command(args: argparse.Namespace, settings: Settings) -> int:
    from .engine import Engine
    from .ingest import ingest
    from .parsing import read_document
    from .report import format_table, write_report

    thresholds = parse_thresholds(args.fail_under)
    modes = retrieval_modes(args.compare, settings.mode)
    gold_path = args.gold or DEFAULT_GOLD
    documents = Path(settings.documents)
    questions = load_gold(gold_path, documents, read_text=lambda p: read_document(p, documents).text)
    report = ingest(settings, progress=False)
    print(f"index: {report.summary()}", file=sys.stderr)
    engine = Engine.open(settings, build_if_missing=False)
    started = time.perf_counter()
    k = args.k or settings.k
    results = evaluate(engine, questions, modes, k)
    elapsed = time.perf_counter() - started
    summaries = {mode: summarize(rs) for mode, rs in results.items()}
    by_language = {mode: summarize_by_language(rs) for mode, rs in results.items()}
    print(format_table(summaries))
    print(f"{len(questions)} questions x {len(modes)} modes in {elapsed:.1f} s", file=sys.stderr)
    default = settings.mode
    run_settings = {
        "gold": str(gold_path),
        "documents": str(documents),
        "model": engine.embedder.name,
        "k": k,
        "modes": modes,
        "chunk_tokens": settings.chunk_tokens,
        "fusion": engine.fusion_params().__dict__,
        "seconds": round(elapsed, 2),
    }
    if args.json_out:
        payload = {
            "summary": summaries[default],
            "by_language": by_language[default],
            "modes": summaries,
            "modes_by_language": by_language,
            "settings": run_settings,
            "questions": [to_json(r) for r in results[default]],
            "questions_by_mode": {m: [to_json(r) for r in rs] for m, rs in results.items() if m != default},
        }
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        chart = write_report(
            args.report,
            title=f"council-qa evaluation: {gold_path.name}",
            summaries=summaries,
            by_language=by_language,
            questions=results[default],
            settings=run_settings,
        )
        print(f"report: {args.report} (chart {chart})", file=sys.stderr)
    failures = check_thresholds(summaries[default], thresholds)
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0
