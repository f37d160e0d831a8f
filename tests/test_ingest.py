"""Ingest end to end: real files, real models, real Chroma, incremental changes and bad input."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest

from assistant import parsing
from assistant.chunking import make_chunker
from assistant.cli import main
from assistant.embeddings import get_embedder
from assistant.engine import Engine
from assistant.headings import heading_free_text
from assistant.ingest import OPENINGS, ingest, sentence_texts
from assistant.lexical import LexicalIndex
from assistant.store import (
    HEADING_FREE_KEY,
    Store,
    StoreError,
    chunk_from_meta,
    sentence_span,
    unpack_vector,
)

from .conftest import ANSWER_DOC, DOCUMENTS, KUMLA_DOC


def chroma_ids(store: Store) -> set[str]:
    return {cid for ids, _, _ in store.all_chunks() for cid in ids}


def assert_consistent(settings) -> Store:  # type: ignore[no-untyped-def]
    """Every chunk quotes its document exactly, and the lexical index holds exactly the store's chunks."""
    store = Store(settings)
    records = store.document_records()
    for ids, texts, metas in store.all_chunks():
        for cid, text, meta in zip(ids, texts, metas):
            doc = store.get_document(meta["doc_id"])
            assert doc is not None, f"orphan chunk {cid}"
            assert doc.text[meta["start"] : meta["end"]] == text
            assert meta["doc_hash"] == records[meta["doc_id"]].content_hash
            # an opening with a heading, of a record longer than one passage, and only such a chunk,
            # carries its heading-free vector
            heading_free = unpack_vector(meta.get(HEADING_FREE_KEY))
            has_heading = heading_free_text(chunk_from_meta(cid, text, meta)) is not None
            has_heading = has_heading and records[meta["doc_id"]].n_chunks > 1
            assert (heading_free is not None) == has_heading, cid
            assert heading_free is None or heading_free.shape == (store.info["dim"],)
    lexical = LexicalIndex.load(Path(settings.index) / "lexical")
    assert lexical is not None
    assert lexical.version == store.content_version
    assert set(lexical.ids) == chroma_ids(store)
    assert sum(r.n_chunks for r in records.values()) == store.count()
    # the successor map (a question -> its answer) agrees with what the store itself says follows
    chunks = store.get_chunks(sorted(chroma_ids(store)))
    following = {cid: nxt.chunk_id for cid, nxt in store.next_chunks(chunks).items()}
    assert lexical.successors == following
    # exactly the sentences of the committed chunks have vectors, each stamped with its document's hash
    got = store.sentences.get(include=["metadatas"])
    for sid, meta in zip(got["ids"], got["metadatas"]):
        assert meta["doc_hash"] == records[meta["doc_id"]].content_hash, f"orphan sentence {sid}"
    by_doc: dict[str, list] = {}
    for chunk in chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    expected = {(doc, *span) for doc, doc_chunks in by_doc.items() for span in sentence_texts(doc_chunks)}
    assert {sentence_span(sid) for sid in got["ids"]} == expected
    return store


@pytest.mark.parametrize("model", ["e5-small", "minilm"])
def test_ingest_bundled_corpus_then_nothing_to_do(corpus, make_settings, model):
    settings = make_settings(corpus, model=model)
    first = ingest(settings, progress=False)
    assert len(first.added) == 5 and not first.failed
    assert first.chunks > 10 and first.tokens > first.chunks
    store = assert_consistent(settings)
    assert store.info["model"] == model

    second = ingest(settings, progress=False)
    assert len(second.skipped) == 5
    assert second.chunks == 0 and second.tokens == 0 and second.embed_seconds == 0


def test_chunk_ids_are_stable_across_runs(corpus, make_settings, tmp_path):
    a = make_settings(corpus, index=tmp_path / "a")
    b = make_settings(corpus, index=tmp_path / "b")
    ingest(a, progress=False)
    ingest(b, progress=False)
    assert chroma_ids(Store(a)) == chroma_ids(Store(b))


def test_a_change_of_chunking_cuts_every_document_again(corpus, make_settings):
    """An index cut one way and queried with chunks cut another would rank unevenly: ingest re-cuts."""
    old = make_settings(corpus, model="minilm", chunk_tokens=96, chunk_overlap=0)
    ingest(old, progress=False)
    assert Store(old).info["chunking"] == "96/0"
    messages: list[str] = []
    new = make_settings(corpus, model="minilm")  # the defaults: overlapping chunks
    report = ingest(new, progress=False, log=messages.append)
    assert len(report.updated) == 5 and not report.skipped
    assert any("chunking changed (96/0 -> 192/96" in m for m in messages)
    store = assert_consistent(new)
    assert store.info["chunking"] == "192/96"
    chunks = store.get_chunks(sorted(chroma_ids(store)))
    spans = sorted((c.start, c.end) for c in chunks if c.doc_id == ANSWER_DOC)
    assert any(b_start < a_end for (_, a_end), (b_start, _) in pairwise(spans)), "no chunk overlaps"
    assert len(ingest(new, progress=False).skipped) == 5  # and then nothing to do


def test_an_index_from_before_heading_free_openings_is_indexed_again(corpus, make_settings):
    settings = make_settings(corpus, model="minilm")
    ingest(settings, progress=False)
    assert any(HEADING_FREE_KEY in meta for _, _, metas in Store(settings).all_chunks() for meta in metas)
    Store(settings).set_info(openings="")  # as an index made before openings were stamped
    messages: list[str] = []
    report = ingest(settings, progress=False, log=messages.append)
    assert len(report.updated) == 5 and not report.skipped
    assert any(f"index made the old way (none -> {OPENINGS})" in m for m in messages)
    assert assert_consistent(settings).info["openings"] == OPENINGS
    assert len(ingest(settings, progress=False).skipped) == 5


def test_every_sentence_is_stored_with_its_own_vector(corpus, make_settings):
    """The composer weighs a quote by its own cosine to the question; ingest embeds each sentence once."""
    settings = make_settings(corpus, model="minilm")
    ingest(settings, progress=False)
    store = Store(settings)
    doc = store.get_document(ANSWER_DOC)
    stored = store.document_sentences(ANSWER_DOC)
    assert len(stored) > 20
    spans = sorted(stored)[:: max(1, len(stored) // 5)]
    texts = [doc.text[start:end] for start, end in spans]
    assert all(text.strip() == text and len(text) > 3 for text in texts)
    fresh = get_embedder("minilm", settings.model_cache).embed_passages(texts)
    for (start, end), vector in zip(spans, fresh):
        assert float(stored[(start, end)] @ vector) > 0.999, doc.text[start:end]
    found = store.sentence_vectors([(ANSWER_DOC, *spans[0]), (ANSWER_DOC, 0, 1), ("no-such.txt", *spans[0])])
    assert list(found) == [(ANSWER_DOC, *spans[0])]


def test_a_damaged_heading_free_vector_only_costs_its_demotion(corpus, make_settings):
    from assistant.store import pack_vector

    settings = make_settings(corpus, model="minilm")
    ingest(settings, progress=False)
    store = Store(settings)
    opening = next(
        (cid, meta)
        for ids, _, metas in store.all_chunks()
        for cid, meta in zip(ids, metas)
        if HEADING_FREE_KEY in meta
    )
    vector = unpack_vector(opening[1][HEADING_FREE_KEY])
    assert vector is not None and unpack_vector(pack_vector(vector)) is not None
    for bad in ("%%% not base64", "AAA=", pack_vector(vector[:10])):
        store.chunks.update(ids=[opening[0]], metadatas=[{**opening[1], HEADING_FREE_KEY: bad}])
        assert store.heading_free_similarities([opening[0]], vector) == {}
    engine = Engine.open(settings)
    assert engine.search("Varför togs handlingsplanen fram?", k=5)


def test_add_change_delete_keep_store_and_lexical_in_step(corpus, make_settings):
    settings = make_settings(corpus)
    ingest(settings, progress=False)

    (corpus / "new-motion.md").write_text(
        "# Motion om friskvårdsbidrag\n\nVi föreslår att friskvårdsbidraget höjs till 5000 kronor.\n",
        encoding="utf-8",
    )
    report = ingest(settings, progress=False)
    assert report.added == ["new-motion.md"] and len(report.skipped) == 5
    assert_consistent(settings)

    kumla = corpus / KUMLA_DOC
    kumla.write_text(
        kumla.read_text(encoding="utf-8") + "\nTillägg: 17 socialsekreterare har slutat.\n", "utf-8"
    )
    report = ingest(settings, progress=False)
    assert report.updated == [KUMLA_DOC]
    store = assert_consistent(settings)
    assert "17 socialsekreterare" in store.get_document(KUMLA_DOC).text

    kumla.unlink()
    report = ingest(settings, progress=False)
    assert report.removed == [KUMLA_DOC]
    store = assert_consistent(settings)
    assert store.get_document(KUMLA_DOC) is None
    assert not [c for c in chroma_ids(store) if c.startswith(KUMLA_DOC)]


def test_bad_files_are_reported_and_the_rest_is_indexed(corpus, make_settings):
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage")
    (corpus / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    settings = make_settings(corpus)
    report = ingest(settings, progress=False)
    failed = dict(report.failed)
    assert set(failed) == {"empty.txt", "binary.txt", "broken.pdf", "broken.docx"}
    for name, reason in failed.items():
        assert name in reason
    assert len(report.added) == 5
    assert_consistent(settings)


def test_a_base64_attachment_is_reported_or_left_out_and_the_record_is_indexed(corpus, make_settings):
    import base64

    blob = base64.b64encode(bytes(range(256)) * 24).decode()
    lines = "\n".join(blob[i : i + 76] for i in range(0, len(blob), 76))
    (corpus / "bilaga.txt").write_text(lines, encoding="utf-8")
    text = (corpus / ANSWER_DOC).read_text(encoding="utf-8")
    (corpus / "med-bilaga.txt").write_text(text + "\n\nBilaga:\n\n" + lines[:3000] + "\n", encoding="utf-8")
    settings = make_settings(corpus)
    report = ingest(settings, progress=False)
    assert [name for name, _ in report.failed] == ["bilaga.txt"]
    assert "holds no readable text" in report.failed[0][1]
    store = assert_consistent(settings)
    chunks = store.get_chunks(sorted(chroma_ids(store)))
    kept = [c for c in chunks if c.doc_id == "med-bilaga.txt"]
    record = store.get_document("med-bilaga.txt")
    assert record is not None and blob[:76] in record.text  # the text itself is kept whole, spans hold
    cut = make_chunker(settings.chunk_tokens, settings.chunk_overlap)(record)
    # every passage of the record is kept, with at most the one that straddles "Bilaga:" ...
    for original in (c for c in chunks if c.doc_id == ANSWER_DOC):
        assert any(c.text.startswith(original.text.rstrip()) for c in kept), original.text[:60]
    assert sum(blob[:76] in c.text for c in kept) <= 1
    # ... and the attachment's own passages are not (the chunker cuts it into 20 or so)
    assert len(cut) - len(kept) >= 10


def test_files_that_are_no_records_are_named_and_the_rest_is_indexed(corpus, make_settings, monkeypatch):
    """Ingest fuzzing: each of these crashed, hung or exhausted memory, and every file after it in
    the folder went unread; a link to a record in the folder indexed it twice under the link's name."""
    os.mkfifo(corpus / "a-pipe.txt")
    (corpus / "a-loop.txt").symlink_to("a-loop.txt")
    (corpus / "a-zero.txt").symlink_to("/dev/zero")
    (corpus / "a-link.txt").symlink_to(ANSWER_DOC)
    (corpus / os.fsdecode(b"a-\xff.txt")).write_text("En rad om socialsekreterare.\n" * 3)
    (corpus / ("a" + "x" * 245 + ".txt")).write_text("Ett namn nära gränsen.\n" * 3)  # 250 bytes: legal
    (corpus / "a-unclosed.md").write_text("---\ntitel: Aldrig stängd\nparti: S\n\nText om något.\n")
    (corpus / "a-rule.md").write_text("---\n\nText under ett streck, utan front matter.\n")
    monkeypatch.setattr(parsing, "MAX_FILE_BYTES", 50_000)
    (corpus / "a-huge.txt").write_text("Ett ord till. " * 4_000)  # 56 kB
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:t>x</w:t>" * 10_000)  # 120 kB unpacked, 1 kB packed
    (corpus / "a-bomb.docx").write_bytes(bomb.getvalue())
    settings = make_settings(corpus)
    report = ingest(settings, progress=False)
    failed = dict(report.failed)
    expected = {
        "a-pipe.txt": "is not a regular file",
        "a-loop.txt": "is a symbolic link that loops",
        "a-zero.txt": "is not a regular file",
        "a-link.txt": f"is a link to {ANSWER_DOC}, which is indexed under its own name",
        "a-\\xff.txt": "has a file name that is not valid UTF-8",
        "a-unclosed.md": "has front matter opened by --- on line 1 that no --- line closes",
        "a-huge.txt": "is 55 kB, more than the 49 kB of one record",
        "a-bomb.docx": "unpacks to 117 kB, more than the 49 kB of one record",
    }
    assert set(failed) == set(expected), failed
    for name, reason in expected.items():
        assert failed[name].startswith(f"{name}: {reason}"), failed[name]
    assert set(report.added) == {p.name for p in DOCUMENTS.glob("*.txt")} | {
        "a" + "x" * 245 + ".txt",
        "a-rule.md",
    }
    assert_consistent(settings)


def test_a_record_that_no_longer_reads_says_its_old_version_stays(corpus, make_settings):
    settings = make_settings(corpus)
    ingest(settings, progress=False)
    (corpus / KUMLA_DOC).write_bytes(b"")
    report = ingest(settings, progress=False)
    assert dict(report.failed)[KUMLA_DOC].endswith("Its version read before stays in the index until then.")
    assert KUMLA_DOC in Store(settings).document_records() and not report.removed


def test_a_documents_folder_that_turns_up_empty_does_not_empty_the_index(corpus, make_settings, tmp_path):
    """An unmounted share or a wrong path removed every record; CLI fuzzing: `ask` then crashed."""
    settings = make_settings(corpus)
    ingest(settings, progress=False)
    before = Store(settings).document_records()
    for record in corpus.iterdir():
        record.unlink()
    with pytest.raises(StoreError, match=f"holds no records, but the index holds {len(before)}: nothing"):
        ingest(settings, progress=False)
    assert Store(settings).document_records() == before
    # a folder that never held any is named as the failure, and `ask` says so instead of crashing
    empty = replace(settings, index=tmp_path / "empty-index")
    assert "holds no records" in ingest(empty, progress=False).failed[0][1]
    folders = ["--documents", str(corpus), "--index", str(empty.index), "--model", settings.model]
    result = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ask", "Hur många slutade 2024?", *folders],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"the index at {empty.index} holds no records" in result.stderr
    # with --rebuild the empty folder empties the index, as asked
    assert sorted(ingest(settings, rebuild=True, progress=False).failed)[0][0] == str(corpus)
    assert Store(settings).document_records() == {}


@pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv (util-linux) to read as non-root")
def test_a_folder_that_cannot_be_listed_keeps_its_records(corpus, make_settings):
    """Ingest fuzzing: os.walk skipped an unreadable folder in silence, and ingest removed its records."""
    locked = corpus / "locked"
    locked.mkdir()
    shutil.move(corpus / KUMLA_DOC, locked / KUMLA_DOC)
    settings = make_settings(corpus)
    assert f"locked/{KUMLA_DOC}" in ingest(settings, progress=False).added
    locked.chmod(0)
    try:
        # root reads any folder: drop the capabilities that let it, as an ordinary user is
        without_root = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]
        command = [sys.executable, "-m", "assistant.cli", "ingest", "--documents", str(corpus)]
        command += ["--index", str(settings.index), "--model", settings.model]
        result = subprocess.run(
            (without_root if os.geteuid() == 0 else []) + command,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        locked.chmod(0o755)
    assert result.returncode == 1, "the rest is indexed, and the exit code says not everything was"
    assert "locked/: is a folder that could not be read (Permission denied)" in result.stderr, result.stderr
    assert "0 removed" in result.stderr + result.stdout
    assert f"locked/{KUMLA_DOC}" in Store(settings).document_records()


def test_latin1_file_keeps_swedish_letters(corpus, make_settings):
    text = (
        "Skrivelse om äldreomsorgen i Örebro\n\n"
        "Socialnämnden måste åtgärda personalbristen på äldreboendet.\n"
    )
    (corpus / "latin1.txt").write_bytes(text.encode("cp1252"))
    settings = make_settings(corpus)
    ingest(settings, progress=False)
    doc = Store(settings).get_document("latin1.txt")
    assert doc is not None and "måste åtgärda personalbristen på äldreboendet" in doc.text


def test_leftovers_of_an_interrupted_ingest_are_removed(corpus, make_settings):
    """Chunks written without their commit marker (a crash mid-document) vanish on the next run."""
    settings = make_settings(corpus)
    ingest(settings, progress=False)
    store = Store(settings)
    doc = store.get_document(KUMLA_DOC)
    store.docs.delete(ids=[KUMLA_DOC])  # the state right before the marker would have been written
    report = ingest(settings, progress=False)
    assert report.orphans_removed > 0 and report.added == [KUMLA_DOC]
    assert Store(settings).get_document(KUMLA_DOC).text == doc.text
    assert_consistent(settings)


def test_asking_with_another_model_than_the_index_was_built_with(corpus, make_settings, tmp_path):
    index = tmp_path / "shared-index"
    ingest(make_settings(corpus, model="minilm", index=index), progress=False)
    with pytest.raises(StoreError, match=r"[Rr]e-ingest"):
        Engine.open(make_settings(corpus, model="e5-small", index=index))


def test_cli_ask_cites_the_measures_against_turnover(tmp_path):
    env_index = tmp_path / "cli-index"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "ask",
            "What measures were promised against turnover?",
            "--json",
            "--index",
            str(env_index),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert not data["abstained"]
    docs = {c["doc_id"] for c in data["citations"]}
    assert ANSWER_DOC in docs
    quotes = " ".join(c["quote"] for c in data["citations"])
    assert "lönesatsningen" in quotes or "specialistsocionomer" in quotes
    for c in data["citations"]:
        assert f"[{c['n']}]" in data["answer"]
        assert c["end"] > c["start"] and c["title"]


def test_cli_reads_a_question_typed_in_a_latin1_terminal(tmp_path):
    """Its "å" reached Python as a lone surrogate, and the tokenizer's TypeError ended the command."""
    question = "Hur många socialsekreterare slutade 2024?".encode("cp1252")
    command = [sys.executable.encode(), b"-m", b"assistant.cli", b"ask", question, b"--json"]
    command += [b"--where", "municipality=Göteborg".encode("cp1252")]
    result = subprocess.run(
        [*command, b"--index", bytes(tmp_path / "index")], capture_output=True, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    data = json.loads(result.stdout)
    assert data["question"] == "Hur många socialsekreterare slutade 2024?"
    assert "21 socialsekreterare" not in data["answer"]  # Göteborg, read right, holds no record
    assert data["notices"] == ["Ingen handling i indexet stämmer med filtren (municipality=Göteborg)."]


def test_cli_reports_bad_input_without_a_traceback(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.cli",
            "ask",
            "x",
            "--where",
            "colour=blue",
            "--index",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "colour" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["ask", "x", "--k", "0"], "argument --k: 0 is out of range: use 1 to 50"),
        (["ask", "x", "--k", "many"], "argument --k: 'many' is not a whole number"),
        (["ask", "x", "--since", "2024-13"], "--since '2024-13': expected a date"),
        (["ask", "x", "--since", "2025", "--until", "2024-06"], "--until '2024-06' is before --since '2025'"),
        (["ask", "   "], "the question is empty"),
        (["ask", "?!\u200b"], "the question is empty"),
        (["ask", "x" * 100_000], "the question has 100,000 characters; ask in at most 2,000"),
        (["ask", "x", "--since", "2023-02-29"], "2023-02-29 is not a date in the calendar"),
        (["ask", "x", "--where", "kind=poem"], "kind must be one of interpellation, answer, skrivelse"),
        (["ask", "x", "--where", "party=Vänsterpartiet"], "party must be one of V, S, MP"),
        (["eval", "--compare", "vector,bm25"], "--compare 'vector,bm25': unknown mode 'vector'"),
        (["eval", "--fail-under", "recall=0.8"], "--fail-under 'recall=0.8'"),
        (["eval", "--k", "500"], "argument --k: 500 is out of range"),
    ],
)
def test_cli_refuses_bad_values_before_touching_the_index(argv, named, tmp_path, capsys):
    """Each used to run: ``--k 0`` quietly meant 10, ``2024-13`` filtered on a month that does not
    exist, a blank question drew an answer, and ``--compare vector`` scored every question 0."""
    index = tmp_path / "index"
    try:
        code = main([*argv, "--index", str(index)])
    except SystemExit as exc:  # argparse's own usage errors
        code = exc.code
    assert code == 2
    assert named in capsys.readouterr().err
    assert not index.exists(), "refused before the index was opened or built"


SHORT_MOTION = """---
title: Motion om arbetsmiljön för socialsekreterare
kind: motion
municipality: Kumla
date: 2025-02-03
---
Motion om arbetsmiljön för socialsekreterare i Kumla

Vi föreslår att socialnämnden ser över arbetsmiljön för socialsekreterarna inom barn och unga.
"""


def test_a_record_of_one_passage_keeps_its_heading(tmp_path, make_settings):
    """Openings are ranked without what their heading adds, so that the passage answering within a
    record comes first; a record of one passage has no such passage, and without its heading this
    short motion, which answers, fell from 4th to 19th below the longer interpellation's passages."""
    documents = tmp_path / "documents"
    documents.mkdir()
    (documents / KUMLA_DOC).write_text((DOCUMENTS / KUMLA_DOC).read_text(encoding="utf-8"), encoding="utf-8")
    (documents / "kumla-motion-arbetsmiljo.txt").write_text(SHORT_MOTION, encoding="utf-8")
    settings = make_settings(documents)
    ingest(settings, progress=False)
    engine = Engine.open(settings)
    hits = engine.search("Vad föreslås om arbetsmiljön för socialsekreterarna i Kumla?", k=5)
    motion = [h for h in hits if h.chunk.doc_id == "kumla-motion-arbetsmiljo.txt"]
    assert motion, [h.chunk.chunk_id for h in hits]
    assert motion[0].heading_free is None
    found = engine.search("Vänsterpartiet Kumla interpellation", k=10)
    kumla_opening = [h for h in found if h.chunk.doc_id == KUMLA_DOC and h.chunk.start < 100]
    assert kumla_opening and kumla_opening[0].heading_free is not None, "a longer record's opening keeps it"


def test_cli_names_a_folder_that_is_a_file(tmp_path, capsys, monkeypatch):
    """CLI fuzzing: each of these ended in a NotADirectoryError traceback or said "does not exist"."""
    afile = tmp_path / "afile"
    afile.write_text("", encoding="utf-8")
    assert main(["ask", "x", "--index", str(afile)]) == 2
    assert f"--index {afile} is a file, not a folder" in capsys.readouterr().err
    assert main(["ingest", "--documents", str(afile), "--index", str(tmp_path / "index")]) == 2
    assert f"--documents {afile} is a file, not a folder" in capsys.readouterr().err
    monkeypatch.setenv("COUNCIL_QA_MODEL_CACHE", str(afile))
    assert main(["ask", "x", "--documents", str(DOCUMENTS), "--index", str(tmp_path / "index")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: Not a directory") and str(afile) in error and "Traceback" not in error
