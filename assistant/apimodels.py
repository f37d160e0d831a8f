"""The HTTP API's request and response shapes.

Requests are validated strictly (unknown fields and wrong JSON types are
refused, not coerced) because an integration that misspells ``municipality``
would otherwise get unfiltered answers without noticing. The response models
mirror ``Answer.to_dict()`` so ``/docs`` describes exactly what clients get.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .config import MAX_K
from .questions import MAX_QUESTION, holds_words
from .schema import DATE_PATTERN, Filters, date_bounds, filter_problem

MAX_FILTER_VALUE = 200
CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"

FilterValue = Annotated[str | None, Field(default=None, max_length=MAX_FILTER_VALUE, strict=True)]
DateValue = Annotated[
    str | None,
    Field(default=None, pattern=DATE_PATTERN, strict=True, description="YYYY, YYYY-MM or YYYY-MM-DD"),
]


class FiltersIn(BaseModel):
    """Restrict the records searched; values match the stored ones case-insensitively."""

    model_config = ConfigDict(extra="forbid")

    municipality: FilterValue = None
    kind: FilterValue = Field(default=None, description="interpellation, answer, skrivelse, motion or other")
    party: FilterValue = None
    author: FilterValue = None
    body: FilterValue = None
    since: DateValue = None
    until: DateValue = None

    @field_validator("kind", "party", "since", "until")
    @classmethod
    def _possible(cls, value: str | None, info: ValidationInfo) -> str | None:
        problem = filter_problem(info.field_name, value) if value else None
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> FiltersIn:
        if self.since and self.until and date_bounds(self.since)[0] > date_bounds(self.until)[1]:
            raise ValueError(f"until ({self.until}) is before since ({self.since})")
        return self

    def to_filters(self) -> Filters:
        values = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in self.model_dump().items()}
        return Filters(**values)


class AskRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "Hur många socialsekreterare slutade 2024?"},
                {
                    "question": "och i Stockholm?",
                    "conversation_id": "3f2b9c0e5d4a4f7e9b1c2d3e4f5a6b7c",
                    "filters": {"since": "2021"},
                    "k": 8,
                },
            ]
        },
    )

    question: str = Field(
        min_length=1, max_length=MAX_QUESTION, strict=True, description="In Swedish or English."
    )
    filters: FiltersIn | None = None
    k: int | None = Field(
        default=None, ge=1, le=MAX_K, strict=True, description="Passages to retrieve (default: COUNCIL_QA_K)."
    )
    conversation_id: str | None = Field(
        default=None,
        pattern=CONVERSATION_ID_PATTERN,
        strict=True,
        description="Send back the id from an earlier answer to ask a follow-up; omit to start anew.",
    )

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not holds_words(value):
            raise ValueError("must hold a word, not only whitespace, punctuation or symbols")
        return value.strip()


class CitationOut(BaseModel):
    n: int
    chunk_id: str
    doc_id: str
    title: str
    date: str
    authors: list[str]
    parties: list[str]
    start: int = Field(description="Start of the quote in the document text (GET /api/documents/{doc_id}).")
    end: int = Field(description="End (exclusive): text[start:end] == quote.")
    quote: str
    score: float
    municipality: str = ""
    kind: str = ""


class AskResponse(BaseModel):
    question: str
    answer: str = Field(
        description="Every sentence is a verbatim quote followed by its citation [n]; with COUNCIL_QA_LLM "
        "set, sentences written by a language model, each checked against the passage its [n] cites."
    )
    language: str
    abstained: bool
    citations: list[CitationOut]
    notices: list[str] = Field(
        description="What the reader should know about this answer, in its language: that a language "
        "model wrote it, sentences it removed, or why the model could not be used."
    )
    timings_ms: dict[str, float]
    conversation_id: str


class MetadataOut(BaseModel):
    title: str = ""
    kind: str = ""
    municipality: str = ""
    body: str = ""
    dnr: str = ""
    date: str = ""
    authors: list[str] = []
    parties: list[str] = []
    recipient: str = ""
    source: str = ""
    url: str = ""


class DocumentOut(BaseModel):
    doc_id: str
    text: str = Field(description="The text that citation spans index.")
    length: int
    metadata: MetadataOut
    content_hash: str


class DocumentSummary(BaseModel):
    doc_id: str
    metadata: MetadataOut


class ErrorOut(BaseModel):
    error: str = Field(description="What went wrong, naming the field at fault.")
    detail: list[dict[str, Any]] = []


_UNSAFE_ID = re.compile(r"(^|[/\\])\.\.($|[/\\])|^[/\\~]|^[A-Za-z]:|\\|\x00")


def unsafe_document_id(doc_id: str) -> str | None:
    """Why ``doc_id`` cannot name a record, or None.

    Ids are only ever looked up in the store, never opened as files; refusing
    path-like ids anyway makes that visible to clients and to scanners.
    """
    if not doc_id or len(doc_id) > 1000:
        return "doc_id: must be 1 to 1000 characters"
    if _UNSAFE_ID.search(doc_id):
        return "doc_id: must be a path relative to the documents folder, without '..' or a leading '/'"
    return None
