"""Which CockroachDB version changes are safe, decided before anything is touched.

CockroachDB upgrades one major release at a time; an innovation release may be skipped on
the way to the next regular release. Until the upgrade is finalized the cluster keeps running at
the old major's cluster version (``cluster.preserve_downgrade_option``), so its nodes may go back
to the old major's binaries: a rollback. After finalization only a restore from backup goes back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RELEASES: tuple[tuple[str, bool], ...] = (
    ("23.1", False),
    ("23.2", False),
    ("24.1", False),
    ("24.2", True),
    ("24.3", False),
    ("25.1", True),
    ("25.2", False),
    ("25.3", True),
    ("25.4", False),
    ("26.1", True),
    ("26.2", False),
)
"""Major releases in order, each with whether it is an (optional) innovation release."""

_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True, order=True)
class Version:
    year: int
    release: int
    patch: int

    @property
    def major(self) -> str:
        return f"{self.year}.{self.release}"

    def __str__(self) -> str:
        return f"v{self.year}.{self.release}.{self.patch}"


def parse_version(text: str) -> Version:
    match = _VERSION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a CockroachDB version like v25.2.8")
    year, release, patch = (int(part) for part in match.groups())
    return Version(year, release, patch)


def allowed_next_majors(major: str) -> list[str]:
    """The majors a cluster on ``major`` may move to: the next one, or past one innovation."""
    names = [name for name, _ in RELEASES]
    index = names.index(major)
    following = list(RELEASES[index + 1 : index + 3])
    if not following:
        return []
    allowed = [following[0][0]]
    if following[0][1] and len(following) > 1:
        allowed.append(following[1][0])
    return allowed


def rollback_refusals(old: Version, new: Version, finalized: bool) -> list[str]:
    """Why going back from ``old`` to the earlier ``new`` is refused; empty for a rollback to the
    major the cluster was upgraded from, before finalization."""
    if new.major == old.major:
        return [
            f"image: {old} -> {new} is a patch downgrade; nodes only go back to the previous "
            f"major's binaries during an unfinalized upgrade. Pin {old} or a later patch"
        ]
    known = [name for name, _ in RELEASES]
    if new.major in known and old.major in allowed_next_majors(new.major):
        if finalized:
            return [
                f"image: {old} -> {new} rolls back to {new.major}, but the upgrade to {old.major} "
                "is finalized (openalgo:upgrade.finalize true): the cluster no longer runs at "
                f"{new.major}'s cluster version. Restore from a backup instead"
            ]
        return []
    return [
        f"image: {old} -> {new} is a downgrade past the previous major; only a rollback to the "
        "major the cluster was upgraded from is possible, while cluster.preserve_downgrade_option "
        "holds it (upgrade.finalize false). Restore from a backup instead"
    ]


def upgrade_refusals(current: str | None, target: str | None, finalized: bool = False) -> list[str]:
    """Why moving the cluster from image version ``current`` to ``target`` is refused.

    ``finalized``: the upgrade to ``current``'s major was let finalize, so no rollback is left.
    """
    if current == target:
        return []
    if current is None or target is None:
        return [
            "image: the version change cannot be checked; pin the image to a release tag "
            "(cockroachdb/cockroach:vX.Y.Z, optionally with @sha256:...) before and after"
        ]
    old, new = parse_version(current), parse_version(target)
    if new < old:
        return rollback_refusals(old, new, finalized)
    if new.major == old.major:
        return []
    known = [name for name, _ in RELEASES]
    for version in (old, new):
        if version.major not in known:
            return [
                f"image: {version} is in major release {version.major}, which the release table "
                f"in rules/upgrades.py does not list (known: {', '.join(known)})"
            ]
    allowed = allowed_next_majors(old.major)
    if new.major not in allowed:
        return [
            f"image: {old} -> {new} skips a major release; from {old.major} upgrade to "
            f"{' or '.join(allowed) or 'nothing newer known'} first, one major at a time"
        ]
    return []
