"""The test server fixture: a missing PostgreSQL skips locally but fails under CI."""

from __future__ import annotations

from pathlib import Path

import postgres_server
import pytest
from conftest import unavailable
from postgres_server import ServerUnavailableError, find_bindir


def test_missing_prerequisite_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        unavailable("PostgreSQL server binaries not found")


def test_missing_prerequisite_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL server binaries not found"):
        unavailable("PostgreSQL server binaries not found")


def test_server_binaries_are_looked_up_in_pg_bindir_first(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("initdb", "pg_ctl"):
        (tmp_path / name).touch()
    monkeypatch.setenv("PG_BINDIR", str(tmp_path))
    assert find_bindir() == tmp_path


def test_missing_binaries_error_lists_every_place_searched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PG_BINDIR", str(tmp_path / "custom"))
    monkeypatch.setattr(postgres_server, "DEFAULT_BINDIR", tmp_path / "debian")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ServerUnavailableError) as caught:
        find_bindir()
    assert str(tmp_path / "custom") in str(caught.value)
    assert str(tmp_path / "debian") in str(caught.value)
