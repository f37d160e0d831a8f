"""Settings come from COUNCIL_QA_* variables, and the README documents every one of them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT, Settings, for_folders, settings_table


def test_readme_documents_every_setting() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for row in settings_table().splitlines()[2:]:
        name = row.split("|")[1].strip()
        assert name in readme, f"{name} is missing from README.md's settings table"


def test_environment_and_overrides() -> None:
    env = {"COUNCIL_QA_K": "5", "COUNCIL_QA_INDEX": "/tmp/x", "COUNCIL_QA_DENSE_WEIGHT": "1.5"}
    settings = Settings.from_env(env, documents=Path("/docs"), model=None)
    assert settings.k == 5 and settings.index == Path("/tmp/x") and settings.dense_weight == 1.5
    assert settings.documents == Path("/docs") and settings.model == "e5-small-int8"


def test_bad_number_names_the_variable() -> None:
    with pytest.raises(SystemExit, match="COUNCIL_QA_K"):
        Settings.from_env({"COUNCIL_QA_K": "many"})


def test_another_documents_folder_gets_its_own_index(tmp_path: Path) -> None:
    base = Settings.from_env({}, documents=tmp_path / "documents", index=tmp_path / "index")
    other = for_folders(base, tmp_path / "riksdagen", None)
    assert other.documents == tmp_path / "riksdagen"
    assert other.index.parent == tmp_path / "index" / "corpora" and other.index.name.startswith("riksdagen-")
    assert for_folders(base, tmp_path / "riksdagen", None).index == other.index  # reused, not rebuilt
    assert for_folders(base, tmp_path / "documents", None).index == tmp_path / "index"
    assert for_folders(base, tmp_path / "riksdagen", tmp_path / "mine").index == tmp_path / "mine"
    assert for_folders(base, None, None) == base


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"COUNCIL_QA_K": "0"}, "COUNCIL_QA_K=0: must be from 1 to 50"),
        ({"COUNCIL_QA_K": "51"}, "COUNCIL_QA_K=51"),
        ({"COUNCIL_QA_MODE": "hybird"}, "COUNCIL_QA_MODE='hybird': must be one of hybrid, dense, lexical"),
        ({"COUNCIL_QA_FUSION": "sum"}, "COUNCIL_QA_FUSION"),
        ({"COUNCIL_QA_BATCH_SIZE": "0"}, "COUNCIL_QA_BATCH_SIZE"),
        ({"COUNCIL_QA_CHROMA_TIMEOUT": "-1"}, "COUNCIL_QA_CHROMA_TIMEOUT"),
        ({"COUNCIL_QA_LEXICAL_WEIGHT": "-0.5"}, "COUNCIL_QA_LEXICAL_WEIGHT"),
        # accepted by the check once (stripped, lowercased), then refused at the first question
        ({"COUNCIL_QA_MODE": " Dense"}, "COUNCIL_QA_MODE=' Dense'"),
        ({"COUNCIL_QA_FUSION": "RRF"}, "COUNCIL_QA_FUSION='RRF'"),
        ({"COUNCIL_QA_CHUNK_OVERLAP": "192"}, "COUNCIL_QA_CHUNK_OVERLAP=192: must be less than"),
        ({"COUNCIL_QA_RATE_LIMIT": "lots"}, "COUNCIL_QA_RATE_LIMIT='lots'"),
        ({"COUNCIL_QA_COLLECTION": "a"}, "COUNCIL_QA_COLLECTION='a': must be 3-512 characters"),
        ({"COUNCIL_QA_COLLECTION": "my collection"}, "COUNCIL_QA_COLLECTION"),
        ({"COUNCIL_QA_COLLECTION": "10.0.0.1"}, "COUNCIL_QA_COLLECTION"),
        ({"COUNCIL_QA_COLLECTION": "a..b"}, "COUNCIL_QA_COLLECTION"),
    ],
)
def test_values_out_of_range_are_refused_naming_the_variable(env: dict[str, str], named: str) -> None:
    """COUNCIL_QA_K=0 used to fall back to 10 unnoticed; a misspelt mode failed only at the first question."""
    with pytest.raises(ValueError, match=re.escape(named)):
        Settings.from_env(env)


def test_cli_overrides_are_checked_too() -> None:
    with pytest.raises(ValueError, match="COUNCIL_QA_K=0"):
        Settings.from_env({}, k=0)
    with pytest.raises(ValueError, match="COUNCIL_QA_MODEL='': name a model"):
        Settings.from_env({}, model="")  # `--model ""` read as the folder "."
    assert Settings.from_env({"COUNCIL_QA_K": "50", "COUNCIL_QA_MODE": "lexical"}).k == 50


def test_a_collection_name_chroma_refuses_leaves_the_index_alone(tmp_path: Path) -> None:
    """Chroma's refusal read as a damaged index, and the advised `ingest --rebuild` moved the store aside."""
    index = tmp_path / "index"
    (index / "chroma").mkdir(parents=True)
    (index / "lexical").mkdir()
    env = {**os.environ, "COUNCIL_QA_COLLECTION": "a"}
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "ingest", "--rebuild", "--index", str(index)],
        env=env,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "COUNCIL_QA_COLLECTION='a'" in done.stderr and "damaged" not in done.stderr
    assert sorted(p.name for p in index.iterdir()) == ["chroma", "lexical"]
    assert (
        Settings.from_env({"COUNCIL_QA_COLLECTION": "council-qa.v2_test"}).collection == "council-qa.v2_test"
    )
