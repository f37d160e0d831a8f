"""Calibrate the LLM mode's support threshold (``assistant/llm.py``: ``SUPPORT_THRESHOLD``).

A generated sentence is kept only when its embedding is close enough to the
passage it cites. This script measures "close enough" on the gold sets:

- supported: each sentence of a gold reference answer (written by hand from the
  cited passages, in Swedish or English, paraphrased, like an LLM's sentence)
  against the passage that holds its source quote (the best one when a question
  has several sources);
- unsupported (random): the same sentence against a random passage of a document
  that is not among the question's sources;
- unsupported (hardest): against the closest passage of such a document, which
  for these single-topic corpora is usually on the same subject;
- the source quotes against their own passage, as an upper bound.

Sentences are embedded the way ``assistant/llm.py`` does it (as a query, or as a
passage with ``--as-passage``) and compared with the stored passage vectors.

    python eval/calibrate_support.py [--index /tmp/council-qa-calibration] [--as-passage]

It indexes the bundled records plus the Riksdag files the Riksdag gold set cites
(about a minute on two cores the first time) into its own index folder.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import PROJECT_ROOT, Settings
from assistant.engine import Engine
from assistant.gold import find_span, load_gold
from assistant.llm import numbers_supported, passage_text
from assistant.sentences import split_sentences

DOCUMENTS = PROJECT_ROOT / "documents"
RIKSDAGEN = PROJECT_ROOT.parent / "shared" / "riksdagen-interpellations"
GOLD = [
    (PROJECT_ROOT / "eval" / "gold.jsonl", DOCUMENTS),
    (PROJECT_ROOT / "eval" / "gold-riksdagen.jsonl", RIKSDAGEN),
]


def build_corpus(target: Path) -> None:
    if target.exists():
        return
    shutil.copytree(DOCUMENTS, target)
    riksdag = load_gold(GOLD[1][0], RIKSDAGEN)
    for name in sorted({s.document for q in riksdag for s in q.sources}):
        shutil.copy(RIKSDAGEN / name, target / name)


def describe(name: str, values: list[float]) -> str:
    a = np.array(values)
    q = np.percentile(a, [5, 10, 25, 50, 75, 90, 95])
    return (
        f"{name:<22} n={len(a):>3} min={a.min():.3f} p5={q[0]:.3f} p10={q[1]:.3f} p25={q[2]:.3f} "
        f"p50={q[3]:.3f} p75={q[4]:.3f} p90={q[5]:.3f} p95={q[6]:.3f} max={a.max():.3f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, default=Path("/tmp/council-qa-calibration"))
    parser.add_argument("--as-passage", action="store_true", help="embed sentences as passages")
    parser.add_argument("--model", default="e5-small")
    args = parser.parse_args()

    documents = args.index / "documents"
    build_corpus(documents)
    engine = Engine.open(Settings.from_env(documents=documents, index=args.index / "index", model=args.model))
    got = engine.store.chunks.get(include=["embeddings", "metadatas", "documents"])
    ids = list(got["ids"])
    vectors = np.asarray(got["embeddings"], dtype=np.float32)
    metas = got["metadatas"]
    passages = {c.chunk_id: passage_text(c) for c in engine.store.get_chunks(ids)}
    texts = [passages[i] for i in ids]
    by_doc: dict[str, list[int]] = {}
    for i, m in enumerate(metas):
        by_doc.setdefault(str(m["doc_id"]), []).append(i)
    print(f"{len(ids)} passages in {len(by_doc)} documents, model {engine.embedder.name}")

    embed = engine.embedder.embed_passages if args.as_passage else engine.embedder.embed_queries
    rng = random.Random(7)
    pos: list[float] = []
    neg_random: list[float] = []
    neg_hard: list[float] = []
    quotes: list[float] = []
    numbers: dict[str, list[bool]] = {"pos": [], "random": [], "hard": []}
    for gold, _ in GOLD:
        for q in load_gold(gold, documents):
            if not q.answerable:
                continue
            support: set[int] = set()
            for s in q.sources:
                text = engine.document(s.document).text
                span = find_span(text, s.quote)
                assert span is not None, (q.id, s.document)
                for i in by_doc[s.document]:
                    if int(metas[i]["start"]) < span[1] and int(metas[i]["end"]) > span[0]:
                        support.add(i)
                quote_vec = embed([s.quote])[0]
                quotes.append(max(float(vectors[i] @ quote_vec) for i in support))
            sources = {s.document for s in q.sources}
            others = [i for d, idx in by_doc.items() if d not in sources for i in idx]
            sentences = [q.answer[a:b].strip() for a, b in split_sentences(q.answer)]
            sentences = [s for s in sentences if len(s.split()) >= 4]
            if not sentences:
                continue
            sentence_vecs = embed(sentences)
            for sentence, vec in zip(sentences, sentence_vecs):
                sims = vectors @ vec
                best_support = max(support, key=lambda i: sims[i])
                hard = max(others, key=lambda i: sims[i])
                rand = rng.choice(others)
                pos.append(float(sims[best_support]))
                neg_hard.append(float(sims[hard]))
                neg_random.append(float(sims[rand]))
                for key, i in (("pos", best_support), ("random", rand), ("hard", hard)):
                    numbers[key].append(numbers_supported(sentence, [texts[i]]))

    print(describe("quote vs its passage", quotes))
    print(describe("supported", pos))
    print(describe("unsupported, random", neg_random))
    print(describe("unsupported, hardest", neg_hard))
    for key, passed in numbers.items():
        print(f"numbers check passes: {key:<7} {sum(passed)}/{len(passed)}")
    print("threshold | similarity: kept supported, rejected random, rejected hardest | and numbers check")
    for threshold in np.arange(0.75, 0.90, 0.01):
        ok = {
            "pos": np.array(pos) >= threshold,
            "random": np.array(neg_random) >= threshold,
            "hard": np.array(neg_hard) >= threshold,
        }
        both = {k: ok[k] & np.array(numbers[k]) for k in ok}
        print(
            f"{threshold:.2f}      | {ok['pos'].mean():.3f} {1 - ok['random'].mean():.3f} "
            f"{1 - ok['hard'].mean():.3f} | {both['pos'].mean():.3f} {1 - both['random'].mean():.3f} "
            f"{1 - both['hard'].mean():.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
