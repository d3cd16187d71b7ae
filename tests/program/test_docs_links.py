"""The README and docs/ link only to files and headings that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from repo import REPO_ROOT

DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(document: Path) -> set[str]:
    """GitHub's anchors for the document's headings (lower case, punctuation dropped)."""
    found = set()
    for line in document.read_text().splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            found.add(slug)
    return found


def relative_links(document: Path) -> list[str]:
    return [
        link
        for link in LINK.findall(document.read_text())
        if not re.match(r"[a-z]+://", link) and not link.startswith("mailto:")
    ]


def broken_links(document: Path) -> list[str]:
    broken = []
    for link in relative_links(document):
        path, _, anchor = link.partition("#")
        target = (document.parent / path).resolve() if path else document
        if not target.exists():
            broken.append(f"{link}: no file {target.name}")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{link}: no heading #{anchor} in {target.name}")
    return broken


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_relative_link_points_at_an_existing_file_and_heading(document: Path) -> None:
    assert broken_links(document) == []


def test_the_readme_links_every_document_in_docs() -> None:
    linked = {Path(link.partition("#")[0]).name for link in relative_links(DOCUMENTS[0])}
    unlinked = [path.name for path in DOCUMENTS[1:] if path.name not in linked]
    assert unlinked == []


def test_a_link_to_a_missing_file_or_heading_is_reported(tmp_path: Path) -> None:
    document = tmp_path / "doc.md"
    document.write_text("# A title\n\n[ok](#a-title) [gone](gone.md) [nowhere](#no-such)\n")
    assert broken_links(document) == [
        "gone.md: no file gone.md",
        "#no-such: no heading #no-such in doc.md",
    ]
