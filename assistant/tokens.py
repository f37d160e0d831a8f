"""Token counting with tiktoken, without touching the network.

``tiktoken.get_encoding`` downloads its BPE file unless ``TIKTOKEN_CACHE_DIR``
points at a cache; llama-index-core ships one, so we point there before the
first use.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

ENCODING = "cl100k_base"


def _point_at_bundled_cache() -> None:
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return
    import llama_index.core

    cache = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)


@lru_cache(maxsize=1)
def tokenizer() -> Callable[[str], list[int]]:
    """The encoder used for chunk sizes (cl100k, as llama-index uses by default)."""
    _point_at_bundled_cache()
    import tiktoken

    return tiktoken.get_encoding(ENCODING).encode


def count_tokens(text: str) -> int:
    return len(tokenizer()(text))
