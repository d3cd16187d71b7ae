"""OpenAlgo's kind of SQLAlchemy models, created with create_all through the printed URLs.

The models are written for these tests and cover what OpenAlgo's `database/*.py` models use:
integer autoincrement keys, string keys, `server_default=func.now()`, JSON, unique and composite
indexes, CHECK constraints, and the `ALTER TABLE ... ADD COLUMN` OpenAlgo runs on older schemas.
PostgreSQL 15 stands in for CockroachDB (same wire protocol and catalogs), so the URLs are printed
with the `postgresql+psycopg` scheme here; the `cockroachdb` scheme's dialect is checked to load.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from conftest import REAL_MIGRATIONS, Names
from postgres_server import ServerInfo
from psycopg import sql
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from migrator import Migrator, Target, load_migrations
from migrator.app_databases import ENVIRONMENT_VARIABLES
from migrator.cli import run

pytestmark = pytest.mark.postgres


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(sa.String(255), unique=True, nullable=False)
    api_key_hash: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[Any] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )


class Strategy(Base):
    __tablename__ = "strategies"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    user_id: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    settings: Mapped[Any] = mapped_column(sa.JSON, nullable=True)
    quantity: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    __table_args__ = (
        sa.Index("idx_strategies_user_name", "user_id", "name", unique=True),
        sa.CheckConstraint("quantity > 0", name="ck_strategies_quantity"),
    )


class SymbolToken(Base):
    __tablename__ = "symtoken"
    symbol: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    exchange: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(32), index=True)


@pytest.fixture
def urls(
    pg_server: ServerInfo, names: Names, target_for: Callable[..., Target]
) -> Iterator[dict[str, str]]:
    """The five URLs `app-databases --print-urls --show-password` prints, for this test."""
    Migrator(target_for(names), load_migrations(REAL_MIGRATIONS, names.app_user)).apply()
    suffix = uuid.uuid4().hex[:8]
    databases = {v: f"sa_{suffix}_{v.split('_')[0].lower()}" for v in ENVIRONMENT_VARIABLES}
    argv = [
        "app-databases", "--dsn", pg_server.dsn(), "--database", names.database,
        "--app-user", names.app_user, "--print-urls", "--show-password",
        "--host", pg_server.host, "--port", str(pg_server.port), "--scheme", "postgresql+psycopg",
        *(f"--name={v}={n}" for v, n in databases.items()),
    ]  # fmt: skip
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MIGRATOR_APP_PASSWORD", names.app_password)
        assert run(argv, out, io.StringIO()) == 0
    printed = dict(
        line.split("=", 1)
        for line in out.getvalue().splitlines()
        if "_DATABASE_URL=" in line or line.startswith("DATABASE_URL=")
    )
    yield printed
    with psycopg.connect(pg_server.conninfo(), autocommit=True) as conn:
        for name in databases.values():
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_printed_urls_name_all_five_variables(urls: dict[str, str]) -> None:
    assert sorted(urls) == sorted(ENVIRONMENT_VARIABLES)


@pytest.mark.parametrize("variable", ENVIRONMENT_VARIABLES)
def test_create_all_and_writes_work_as_the_app_role(urls: dict[str, str], variable: str) -> None:
    engine = sa.create_engine(urls[variable])
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            session.add(ApiKey(user_id="trader1", api_key_hash="h"))
            session.add(Strategy(name="momentum", user_id="trader1", settings={"tf": "5m"}))
            session.add(SymbolToken(symbol="SBIN", exchange="NSE", token="3045"))
            session.commit()
            stored = session.scalars(sa.select(Strategy)).one()
            key = session.scalars(sa.select(ApiKey)).one()
        assert stored.settings == {"tf": "5m"}
        assert key.id == 1
        assert key.created_at is not None
    finally:
        engine.dispose()


def test_check_constraint_holds(urls: dict[str, str]) -> None:
    engine = sa.create_engine(urls["DATABASE_URL"])
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            session.add(Strategy(name="bad", user_id="u", quantity=0))
            with pytest.raises(sa.exc.IntegrityError, match="ck_strategies_quantity"):
                session.commit()
    finally:
        engine.dispose()


def test_composite_unique_index_holds(urls: dict[str, str]) -> None:
    engine = sa.create_engine(urls["DATABASE_URL"])
    try:
        Base.metadata.create_all(engine)
        with Session(engine) as session:
            session.add_all([Strategy(name="s", user_id="u"), Strategy(name="s", user_id="u")])
            with pytest.raises(sa.exc.IntegrityError, match="idx_strategies_user_name"):
                session.commit()
    finally:
        engine.dispose()


def test_openalgos_add_column_upgrade_runs_as_the_app_role(urls: dict[str, str]) -> None:
    engine = sa.create_engine(urls["SANDBOX_DATABASE_URL"])
    try:
        Base.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE strategies ADD COLUMN gtt_leg_id INTEGER"))
        columns = {c["name"] for c in sa.inspect(engine).get_columns("strategies")}
        assert "gtt_leg_id" in columns
    finally:
        engine.dispose()


def test_the_cockroachdb_scheme_loads_the_cockroachdb_dialect() -> None:
    engine = sa.create_engine("cockroachdb+psycopg://openalgo:pw@db:26257/openalgo_app")
    try:
        assert engine.dialect.name == "cockroachdb"
    finally:
        engine.dispose()
