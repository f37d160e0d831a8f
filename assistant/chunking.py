"""Split a document into passages that keep their exact character spans.

llama-index's ``SentenceSplitter`` decides where pieces break (sentences kept
whole, paragraphs preferred, sizes counted in tiktoken tokens); we then locate
each piece in the source text so that ``text[start:end]`` is exactly what a
citation quotes, whatever whitespace the splitter normalized on the way. A
chunk is one piece or several consecutive ones (overlapping chunks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llama_index.core.node_parser import SentenceSplitter

from .schema import Chunk, ParsedDocument
from .tokens import tokenizer


def make_splitter(chunk_tokens: int, overlap: int = 0) -> SentenceSplitter:
    """The splitter for the pieces that chunks are made of (``chunk_tokens - overlap`` tokens each)."""
    if not 0 <= overlap < chunk_tokens:
        raise ValueError(
            f"COUNCIL_QA_CHUNK_OVERLAP={overlap} must be at least 0 and less than "
            f"COUNCIL_QA_CHUNK_TOKENS={chunk_tokens}"
        )
    return SentenceSplitter(
        chunk_size=chunk_tokens - overlap,
        chunk_overlap=0,
        tokenizer=tokenizer(),
        paragraph_separator="\n\n",
        include_metadata=False,
        include_prev_next_rel=False,
    )


@dataclass(frozen=True)
class Chunker:
    """Cuts a document into chunks of ``pieces`` consecutive splitter pieces."""

    splitter: SentenceSplitter
    pieces: int = 1

    def __call__(self, doc: ParsedDocument) -> list[Chunk]:
        return chunk_document(doc, self.splitter, self.pieces)


def make_chunker(chunk_tokens: int, overlap: int = 0) -> Chunker:
    """Chunks of about ``chunk_tokens`` tokens, each sharing about ``overlap`` with the one before.

    Pieces of ``chunk_tokens - overlap`` tokens, as many per chunk as make
    ``chunk_tokens`` (2 for 192 overlapping by 96), so the overlap is a whole
    number of pieces.
    """
    splitter = make_splitter(chunk_tokens, overlap)
    return Chunker(splitter, max(1, round(chunk_tokens / (chunk_tokens - overlap))))


def chunk_id(doc_id: str, start: int, end: int) -> str:
    """Stable across runs: the same text chunked the same way gets the same id."""
    return f"{doc_id}#{start}-{end}"


def chunk_document(doc: ParsedDocument, splitter: SentenceSplitter, pieces_per_chunk: int = 1) -> list[Chunk]:
    """Chunks of ``pieces_per_chunk`` consecutive pieces, each starting one piece after the last.

    Overlap because records state a point in one sentence and its specifics in
    the next ("Det finns så klart olika anledningar ..." / "Vid avgångssamtal
    ... arbetsbelastningen"): cut apart, neither chunk matches the question.
    Made from non-overlapping pieces, so every span is located exactly once.
    """
    spans = piece_spans(doc.text, splitter)
    n = max(1, pieces_per_chunk)
    windows = [spans[i : i + n] for i in range(max(1, len(spans) - n + 1))] if spans else []
    return [
        Chunk(
            chunk_id=chunk_id(doc.doc_id, start, end),
            doc_id=doc.doc_id,
            start=start,
            end=end,
            text=doc.text[start:end],
            metadata=doc.metadata,
        )
        for start, end in ((w[0][0], w[-1][1]) for w in windows)
    ]


def piece_spans(text: str, splitter: SentenceSplitter) -> list[tuple[int, int]]:
    """The splitter's pieces as character spans of ``text``, in order, without overlap."""
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in splitter.split_text(text):
        span = locate(text, piece, cursor)
        if span is not None:
            spans.append(span)
            cursor = span[1]
    return spans


def locate(text: str, piece: str, cursor: int) -> tuple[int, int] | None:
    """Find ``piece`` in ``text`` at or after ``cursor``, tolerating whitespace changes."""
    piece = piece.strip()
    if not piece:
        return None
    found = text.find(piece, cursor)
    if found >= 0:
        return found, found + len(piece)
    words = piece.split()
    pattern = r"\s*".join(re.escape(w) for w in words)
    match = re.compile(pattern).search(text, cursor)
    if match is None:
        match = re.compile(pattern).search(text)
    return (match.start(), match.end()) if match else None


def chunking_stamp(chunk_tokens: int, overlap: int) -> str:
    """How an index's chunks were cut; an index without one was cut at 96 tokens without overlap."""
    return f"{chunk_tokens}/{overlap}"


LEGACY_CHUNKING = chunking_stamp(96, 0)
