"""Shared fixtures: real corpora in temporary folders, real models, real stores.

Models are converted once per machine into the normal cache (the same place
users get them), so the suite measures the real loading path without paying
for the conversion in every test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.config import PROJECT_ROOT, Settings

DOCUMENTS = PROJECT_ROOT / "documents"
RIKSDAGEN = PROJECT_ROOT.parent / "shared" / "riksdagen-interpellations"
ANSWER_DOC = "svar-pa-interpellation-2024-12-avhopp-bland-socialsekreterare.txt"
KUMLA_DOC = "kumla-interpellation-2026-05-12-rorlighet-bland-socialsekreterare.txt"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of the bundled records that a test may change freely."""
    target = tmp_path / "documents"
    shutil.copytree(DOCUMENTS, target)
    return target


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(
        documents: Path, *, model: str = "e5-small", index: Path | None = None, **extra: object
    ) -> Settings:
        return Settings.from_env(
            documents=documents, index=index or tmp_path / f"index-{model}", model=model, **extra
        )

    return make


@pytest.fixture
def riksdagen_engine(tmp_path: Path, make_settings: Callable[..., Settings]) -> Callable[..., object]:
    """An engine over a few Riksdag records ingested into a fresh index: ``riksdagen_engine(*names)``."""

    def make(*names: str, model: str = "e5-small"):  # type: ignore[no-untyped-def]
        from assistant.engine import Engine
        from assistant.ingest import ingest

        documents = tmp_path / "documents"
        documents.mkdir()
        for name in names:
            shutil.copy(RIKSDAGEN / name, documents)
        settings = make_settings(documents, model=model)
        ingest(settings, progress=False)
        return Engine.open(settings)

    return make


@pytest.fixture(scope="session")
def bundled_engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One engine over the bundled corpus with the default model, shared by read-only tests."""
    from assistant.engine import Engine

    index = tmp_path_factory.mktemp("bundled-index")
    return Engine.open(Settings.from_env(documents=DOCUMENTS, index=index))
