"""Where the repository's parts are, for tests and benchmarks alike."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = REPO_ROOT / "sql" / "migrations"
SCRIPTS = REPO_ROOT / "scripts"
DEV = REPO_ROOT / "dev"
