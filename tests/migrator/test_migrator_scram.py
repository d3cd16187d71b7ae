"""Client-side SCRAM verifiers: set pre-hashed, compared without sending the password."""

from __future__ import annotations

import hashlib

import pytest

from migrator.scram import build_verifier, verifier_matches


def test_verifier_matches_the_password_it_was_built_from() -> None:
    verifier = build_verifier("correct horse")
    assert verifier.startswith("SCRAM-SHA-256$4096:")
    assert verifier_matches(verifier, "correct horse", "openalgo") is True


def test_verifier_does_not_match_another_password() -> None:
    assert verifier_matches(build_verifier("one"), "two", "openalgo") is False


def test_verifier_never_contains_the_password() -> None:
    assert "plain-text-pw" not in build_verifier("plain-text-pw")


def test_md5_verifiers_are_checked_too() -> None:
    stored = "md5" + hashlib.md5(b"pwopenalgo", usedforsecurity=False).hexdigest()
    assert verifier_matches(stored, "pw", "openalgo") is True


def test_unknown_hash_format_cannot_be_told() -> None:
    assert verifier_matches("$2a$10$abcdefghijklmnopqrstuv", "pw", "openalgo") is None


def test_non_ascii_password_is_rejected_for_building() -> None:
    with pytest.raises(ValueError, match="must be ASCII"):
        build_verifier("pässword")
