"""The tutorial's outline (tutorial_outline.yaml): chapters, sections, and the site page
and heading that cover each. Used by the ledger page (section labels) and by the docs
tests (every section has a page and heading)."""

from __future__ import annotations

from importlib import resources

import yaml


def load_outline(text: str | None = None) -> list[dict]:
    if text is None:
        text = resources.files("actbench").joinpath("tutorial_outline.yaml").read_text()
    chapters = yaml.safe_load(text) or []
    seen = set()
    for chapter in chapters:
        for entry in [chapter, *chapter.get("sections", [])]:
            missing = [k for k in ("id", "title") if not entry.get(k)]
            if missing:
                raise ValueError(f"tutorial outline entry {entry} lacks {missing}")
            if entry["id"] in seen:
                raise ValueError(f"tutorial outline: duplicate id {entry['id']!r}")
            seen.add(entry["id"])
    return chapters


def section_titles() -> dict[str, str]:
    """id -> "id title" for every chapter and section."""
    titles = {}
    for chapter in load_outline():
        for entry in [chapter, *chapter.get("sections", [])]:
            titles[entry["id"]] = f"{entry['id']} {entry['title']}"
    return titles
