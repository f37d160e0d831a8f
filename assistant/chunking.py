"""Split a document into passages that keep their exact character spans.

llama-index's ``SentenceSplitter`` decides where chunks break (sentences kept
whole, paragraphs preferred, sizes counted in tiktoken tokens); we then locate
each chunk in the source text so that ``text[start:end]`` is exactly what a
citation quotes, whatever whitespace the splitter normalized on the way.
"""

from __future__ import annotations

import re

from llama_index.core.node_parser import SentenceSplitter

from .schema import Chunk, ParsedDocument
from .tokens import tokenizer


def make_splitter(chunk_tokens: int) -> SentenceSplitter:
    return SentenceSplitter(
        chunk_size=chunk_tokens,
        chunk_overlap=0,
        tokenizer=tokenizer(),
        paragraph_separator="\n\n",
        include_metadata=False,
        include_prev_next_rel=False,
    )


def chunk_id(doc_id: str, start: int, end: int) -> str:
    """Stable across runs: the same text chunked the same way gets the same id."""
    return f"{doc_id}#{start}-{end}"


def chunk_document(doc: ParsedDocument, splitter: SentenceSplitter) -> list[Chunk]:
    pieces = splitter.split_text(doc.text)
    chunks: list[Chunk] = []
    cursor = 0
    for piece in pieces:
        span = locate(doc.text, piece, cursor)
        if span is None:
            continue
        start, end = span
        cursor = end
        chunks.append(
            Chunk(
                chunk_id=chunk_id(doc.doc_id, start, end),
                doc_id=doc.doc_id,
                start=start,
                end=end,
                text=doc.text[start:end],
                metadata=doc.metadata,
            )
        )
    return chunks


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
