"""Settings come from COUNCIL_QA_* variables, and the README documents every one of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import PROJECT_ROOT, Settings, settings_table


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
