"""Load versioned migrations from a directory into validated, immutable objects.

A migration is `NNNN_snake_name.sql` (portable SQL for CockroachDB and PostgreSQL) with an optional
`NNNN_snake_name.crdb.sql` companion that only CockroachDB runs. Its id is the file stem
(`0003_positions`); its checksum is SHA-256 over the portable text and then the companion text,
each framed by its role and byte length, after decoding UTF-8 (a BOM is dropped) and turning CRLF
into LF so a checkout's line endings do not count as an edit.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from migrator.errors import InvalidMigrationsError
from migrator.placeholders import DEFAULT_APP_USER, render
from migrator.splitting import SqlSyntaxError, Statement, leading_keywords, split_statements
from migrator.statements import session_identity_refusal, transaction_refusal

MIGRATION_ID = re.compile(r"^(?P<version>[0-9]{4})_(?P<name>[a-z0-9]+(?:_[a-z0-9]+)*)$")
PORTABLE_SUFFIX = ".sql"
COMPANION_SUFFIX = ".crdb.sql"
ID_RULE = "NNNN_snake_name (four digits, underscore, lower-case words joined by underscores)"

_TRANSACTION_CONTROL = frozenset(
    {
        ("BEGIN",),
        ("COMMIT",),
        ("END",),
        ("ROLLBACK",),
        ("ABORT",),
        ("SAVEPOINT",),
        ("RELEASE",),
        ("START", "TRANSACTION"),
        ("PREPARE", "TRANSACTION"),
    }
)


@dataclass(frozen=True)
class SqlFile:
    """One file of a migration: its name, its text as written (`source`), that text with its
    placeholders filled in (`text`, what runs and is hashed) and the statements of `text`."""

    name: str
    source: str
    text: str
    statements: tuple[Statement, ...]
    uses_placeholders: bool


@dataclass(frozen=True)
class Migration:
    """A portable file plus its optional CockroachDB-only companion."""

    id: str
    version: int
    portable: SqlFile
    companion: SqlFile | None
    checksum: str

    @property
    def file_name(self) -> str:
        return self.portable.name

    @property
    def companion_statements(self) -> tuple[Statement, ...]:
        return self.companion.statements if self.companion else ()

    @property
    def uses_placeholders(self) -> bool:
        return self.portable.uses_placeholders or bool(
            self.companion and self.companion.uses_placeholders
        )


@dataclass(frozen=True)
class MigrationSet:
    """Migrations in strictly increasing version order, rendered for `app_user`."""

    migrations: tuple[Migration, ...]
    app_user: str = DEFAULT_APP_USER

    def __iter__(self) -> Iterator[Migration]:
        return iter(self.migrations)

    def __len__(self) -> int:
        return len(self.migrations)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.migrations)

    def get(self, migration_id: str) -> Migration | None:
        return next((m for m in self.migrations if m.id == migration_id), None)

    @property
    def sources(self) -> tuple[tuple[str, str, str | None], ...]:
        """(id, portable text, companion text) as written, placeholders unfilled."""
        return tuple(
            (m.id, m.portable.source, m.companion.source if m.companion else None) for m in self
        )

    def for_app_user(self, app_user: str) -> MigrationSet:
        """The same files rendered for another application role (checksums follow)."""
        if app_user == self.app_user:
            return self
        return migrations_from_texts(self.sources, app_user=app_user)

    @property
    def digest(self) -> str:
        """SHA-256 over the ordered (id, checksum) list: one value that changes with any file."""
        return manifest_digest([(m.id, m.checksum) for m in self.migrations])


def manifest_digest(entries: Sequence[tuple[str, str]]) -> str:
    lines = "".join(f"{migration_id} {checksum}\n" for migration_id, checksum in entries)
    return hashlib.sha256(lines.encode()).hexdigest()


def normalize_text(raw: bytes, file_name: str) -> str:
    """UTF-8 text with a leading BOM removed and CRLF/CR line ends turned into LF."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMigrationsError(
            [f"{file_name}: not valid UTF-8 (byte {exc.start}); save the file as UTF-8"]
        ) from None
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def compute_checksum(portable_text: str, companion_text: str | None) -> str:
    digest = hashlib.sha256()
    for role, text in (("portable", portable_text), ("crdb", companion_text)):
        if text is None:
            continue
        data = text.encode("utf-8")
        digest.update(f"{role}:{len(data)}:".encode())
        digest.update(data)
    return digest.hexdigest()


def _parse_file(
    file_name: str, source: str, problems: list[str], *, in_transaction: bool, app_user: str
) -> SqlFile:
    """Statements of one file, placeholders filled in; `in_transaction` files (the portable
    ones) also refuse statements that cannot run inside a transaction block."""
    rendered = render(file_name, source, app_user)
    problems.extend(rendered.problems)
    sql_file = SqlFile(
        name=file_name,
        text=rendered.text,
        statements=(),
        source=source,
        uses_placeholders=rendered.uses_placeholders,
    )
    try:
        statements = split_statements(rendered.text)
    except SqlSyntaxError as exc:
        problems.append(f"{file_name}: {exc}")
        return sql_file
    for statement in statements:
        if statement.text.startswith("\\"):
            problems.append(
                f"{file_name}: line {statement.line}: psql meta-command "
                f"{statement.excerpt(40)!r} is not SQL; remove it"
            )
            continue
        words = leading_keywords(statement.text)
        if words[:1] in _TRANSACTION_CONTROL or words in _TRANSACTION_CONTROL:
            problems.append(
                f"{file_name}: line {statement.line}: transaction control "
                f"{' '.join(words)!r} is not allowed; the engine wraps each migration "
                "in its own transaction"
            )
        refusals = [session_identity_refusal(statement.text)]
        if in_transaction:
            refusals.append(transaction_refusal(statement.text))
        problems += [f"{file_name}: line {statement.line}: {r}" for r in refusals if r]
    return dataclasses.replace(sql_file, statements=statements)


def build_migration(
    migration_id: str,
    portable_text: str,
    companion_text: str | None,
    app_user: str = DEFAULT_APP_USER,
) -> tuple[Migration, list[str]]:
    """A migration from already-normalized file texts, plus the problems found in them; the
    checksum covers the texts as rendered for `app_user`."""
    problems: list[str] = []
    portable_name = migration_id + PORTABLE_SUFFIX
    match = MIGRATION_ID.match(migration_id)
    if match is None:
        problems.append(f"{portable_name}: file name must be {ID_RULE}")
    portable = _parse_file(
        portable_name, portable_text, problems, in_transaction=True, app_user=app_user
    )
    companion = (
        None
        if companion_text is None
        else _parse_file(
            migration_id + COMPANION_SUFFIX,
            companion_text,
            problems,
            in_transaction=False,
            app_user=app_user,
        )
    )
    if not portable.statements and not (companion and companion.statements):
        problems.append(f"{portable_name}: contains no SQL statements")
    migration = Migration(
        id=migration_id,
        version=int(match.group("version")) if match else -1,
        portable=portable,
        companion=companion,
        checksum=compute_checksum(portable.text, companion.text if companion else None),
    )
    return migration, problems


def _ordering_problems(migrations: Sequence[Migration]) -> list[str]:
    problems: list[str] = []
    seen: dict[int, str] = {}
    for migration in migrations:
        if migration.version < 0:
            continue
        other = seen.get(migration.version)
        if other is not None:
            problems.append(
                f"{migration.file_name}: version {migration.version:04d} is already used by "
                f"{other}.sql; each version number must be unique"
            )
        else:
            seen[migration.version] = migration.id
    return problems


def migrations_from_texts(
    files: Sequence[tuple[str, str, str | None]], app_user: str = DEFAULT_APP_USER
) -> MigrationSet:
    """Migrations from (id, portable text, companion text) triples, validated like a directory
    and rendered for `app_user`."""
    problems: list[str] = []
    migrations: list[Migration] = []
    previous: Migration | None = None
    for migration_id, portable_text, companion_text in files:
        migration, found = build_migration(migration_id, portable_text, companion_text, app_user)
        problems.extend(found)
        if previous is not None and 0 <= migration.version < previous.version:
            problems.append(
                f"{migration.file_name}: listed after {previous.file_name}; "
                "migrations must be in increasing version order"
            )
        migrations.append(migration)
        previous = migration
    problems.extend(_ordering_problems(migrations))
    if problems:
        raise InvalidMigrationsError(problems)
    return MigrationSet(tuple(migrations), app_user)


def _extension_case_problem(file_name: str) -> str | None:
    """A `.SQL` or `.Crdb.Sql` file would otherwise be skipped without a word."""
    lowered = file_name.lower()
    suffix = COMPANION_SUFFIX if lowered.endswith(COMPANION_SUFFIX) else PORTABLE_SUFFIX
    if file_name.endswith(suffix):
        return None
    fixed = file_name[: -len(suffix)] + suffix
    return (
        f"{file_name}: the extension must be lower-case {PORTABLE_SUFFIX} or {COMPANION_SUFFIX}; "
        f"rename it to {fixed}"
    )


def load_migrations(directory: str | Path, app_user: str = DEFAULT_APP_USER) -> MigrationSet:
    """Every migration in `directory`, sorted by version and rendered for `app_user`; all
    problems reported at once."""
    root = Path(directory)
    if not root.is_dir():
        raise InvalidMigrationsError(
            [f"{root}: not a directory (expected the migrations directory)"]
        )
    portable: dict[str, Path] = {}
    companions: dict[str, Path] = {}
    problems: list[str] = []
    for path in sorted(root.iterdir()):
        if not path.is_file() or not path.name.lower().endswith(PORTABLE_SUFFIX):
            continue
        if (wrong_case := _extension_case_problem(path.name)) is not None:
            problems.append(wrong_case)
            continue
        if path.name.endswith(COMPANION_SUFFIX):
            companions[path.name.removesuffix(COMPANION_SUFFIX)] = path
        else:
            portable[path.name.removesuffix(PORTABLE_SUFFIX)] = path
    for stem, path in companions.items():
        if stem not in portable:
            problems.append(
                f"{path.name}: companion without its portable file {stem}{PORTABLE_SUFFIX}; "
                "add the portable file (it may hold only a comment) or rename the companion"
            )
    for stem, path in portable.items():
        if MIGRATION_ID.match(stem) is None:
            problems.append(f"{path.name}: file name must be {ID_RULE}.sql or .crdb.sql")
    triples: list[tuple[str, str, str | None]] = []
    for stem in sorted(s for s in portable if MIGRATION_ID.match(s)):
        try:
            portable_text = normalize_text(portable[stem].read_bytes(), portable[stem].name)
            companion_path = companions.get(stem)
            companion_text = (
                normalize_text(companion_path.read_bytes(), companion_path.name)
                if companion_path
                else None
            )
        except InvalidMigrationsError as exc:
            problems.extend(exc.problems)
            continue
        triples.append((stem, portable_text, companion_text))
    try:
        migration_set = migrations_from_texts(triples, app_user)
    except InvalidMigrationsError as exc:
        problems.extend(exc.problems)
        migration_set = MigrationSet(())
    if problems:
        raise InvalidMigrationsError(problems)
    return migration_set
