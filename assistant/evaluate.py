"""``council-qa eval``: run a gold set through retrieval and the answer composer, score it, report it.

The same run scores several retrieval modes on the same questions so that a
change is always judged against its alternatives measured on the same machine
at the same moment.
"""

from __future__ import annotations

import argparse
import json
import math
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

# Metrics where less is better: ``--fail-under`` reads their VALUE as a ceiling, since a CI job that sets
# ``retrieval_p95_ms=500`` means "fail when slower than 500 ms", not "fail when faster".
LOWER_IS_BETTER = (*(key for key in SUMMARY_KEYS if key.endswith("_ms")), "false_abstention_rate")
FAIL_UNDER_HELP = (
    "exit 1 when METRIC is below VALUE, e.g. hit@5=0.9; for the lower-is-better metrics "
    f"({', '.join(LOWER_IS_BETTER)}) VALUE is a ceiling: exit 1 when above it. A metric the run could "
    "not measure (abstention_accuracy without unanswerable questions) also fails. Repeatable"
)
# Why a summary metric is None (``metrics.summarize``), for a --fail-under message that says what to add.
_UNMEASURED = {
    "abstention_accuracy": "no unanswerable questions in this gold set",
    "citation_precision": "no answer cited a passage for an answerable question",
    **{key: "no questions were timed" for key in SUMMARY_KEYS if key.endswith("_ms")},
}


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


def add_fail_under_argument(parser: argparse.ArgumentParser) -> None:
    """``--fail-under`` for the eval parser. ``extend`` so that repeated flags add up: with a plain
    ``nargs="*"`` the last ``--fail-under`` silently replaced the ones before it."""
    parser.add_argument(
        "--fail-under", nargs="+", action="extend", default=[], metavar="METRIC=VALUE", help=FAIL_UNDER_HELP
    )


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
            bound = float(value)
        except ValueError:
            raise ValueError(f"--fail-under {rule!r}: {value!r} is not a number") from None
        if not math.isfinite(bound):  # nothing is below nan, so the check could never fail
            raise ValueError(
                f"--fail-under {rule!r}: {value!r} is not a finite number; use e.g. {metric}=0.9"
            )
        thresholds.append((metric, bound))
    return thresholds


def check_thresholds(summary: dict[str, Any], thresholds: Sequence[tuple[str, float]]) -> list[str]:
    """Human-readable failures: each metric below its bound (above it for ``LOWER_IS_BETTER``), or not
    measured at all, since a gate on a metric the gold set cannot measure guards nothing."""
    failures = []
    for metric, bound in thresholds:
        actual = summary.get(metric)
        if actual is None:
            reason = _UNMEASURED.get(metric, "no answerable questions in this gold set")
            failures.append(f"{metric} was not measured ({reason})")
        elif metric in LOWER_IS_BETTER and actual > bound:
            failures.append(f"{metric} = {actual:g} is above {bound:g}")
        elif metric not in LOWER_IS_BETTER and actual < bound:
            failures.append(f"{metric} = {actual:g} is below {bound:g}")
    return failures


def describe_failures(results: dict[str, list[QuestionResult]]) -> list[str]:
    """One line per distinct error that stopped a question, with how many questions (and which modes) it
    hit: a failed question scores 0 without saying so, so a run where all of them failed looked merely bad.
    """
    hit: dict[str, dict[str, None]] = {}  # failure -> question ids, in order
    modes: dict[str, dict[str, None]] = {}
    for mode, items in results.items():
        for r in items:
            if r.failure:
                hit.setdefault(r.failure, {})[r.id] = None
                modes.setdefault(r.failure, {})[mode] = None
    total = len({r.id for items in results.values() for r in items})
    return [
        f"{len(ids)} of {total} questions failed (mode {', '.join(modes[failure])}): {failure}"
        for failure, ids in hit.items()
    ]


def check_output_paths(gold: Path, json_out: Path | None, report: Path | None) -> None:
    """Refuse, before the slow run, outputs that would overwrite the gold set or each other, or that
    cannot be written (a folder, or under a file): these used to fail, or destroy the gold set, after it."""
    from .report import chart_path

    outputs = {"--json": json_out, "--report": report, "--report's chart": report and chart_path(report)}
    named = [(option, path) for option, path in outputs.items() if path is not None]
    for option, path in named:
        _check_writable(option, path)
    seen: dict[Path, str] = {gold.resolve(): "--gold"}
    for option, path in named:
        other = seen.setdefault(path.resolve(), option)
        if other != option:
            raise ValueError(_clash_message(option, other, path, report))


def _check_writable(option: str, path: Path) -> None:
    """Refuse a folder, or a path whose nearest existing parent is a file."""
    try:
        if path.is_dir():
            raise ValueError(f"{option} {path} is a folder; give a file path inside it or elsewhere")
        parent = next((p for p in path.parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise ValueError(f"{option} {path}: {parent} is a file, not a folder; choose another path")
    except OSError as exc:  # a name too long for the file system, say
        raise ValueError(
            f"{option} {path}: cannot be written ({exc.strerror}); choose another path"
        ) from None


def _clash_message(option: str, other: str, path: Path, report: Path | None) -> str:
    """Why two of --gold, --json, --report and the report's chart are one file, and what to change."""
    if option == "--report's chart":
        where = f"--report {report} writes its chart beside it as {path}"
        if other == "--report":
            return f"{where}, the report itself; give --report a .md name"
        rename = "--report" if other == "--gold" else f"{other} or --report"
        return f"{where}, which is the {other} file; give {rename} another name"
    if other == "--gold":
        overwrite = "the run would overwrite the gold set"
        return f"{option} {path} is the --gold file; {overwrite}. Write {option} elsewhere"
    return f"{option} and {other} are the same file ({path}); give each its own path"


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
    check_output_paths(gold_path, args.json_out, args.report)
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
    return verdict(results, summaries[default], thresholds)


def verdict(
    results: dict[str, list[QuestionResult]], summary: dict[str, Any], thresholds: Sequence[tuple[str, float]]
) -> int:
    """Print what went wrong to stderr and return the exit code: 1 when a question failed (its zeros
    drag every score down, so a CI gate must not pass on them) or a ``--fail-under`` bound was missed."""
    errors = describe_failures(results)
    if errors:
        errors.append("the scores are not trustworthy while questions fail; fix the errors above")
    failures = [*errors, *check_thresholds(summary, thresholds)]
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    return 1 if failures else 0
