"""actbench.tutorial: the tutorial's outline, which the ledger labels and the docs
tests check the site against."""

import pytest

from actbench.claims import load_claims
from actbench.tutorial import load_outline, section_titles


def test_outline_covers_every_ledger_section():
    titles = section_titles()
    missing = sorted({c["section"] for c in load_claims()} - set(titles))
    assert not missing, f"claims.yaml sections missing from tutorial_outline.yaml: {missing}"


def test_outline_maps_every_entry_to_a_page_and_heading():
    for chapter in load_outline():
        assert chapter["page"] and chapter["page"].endswith(".md"), chapter["id"]
        for section in chapter["sections"]:
            assert section.get("heading"), section["id"]


@pytest.mark.parametrize("text, message", [
    ("- {id: '1', title: A, sections: [{id: '1', title: B}]}", "duplicate id '1'"),
    ("- {id: '1', sections: []}", "lacks ['title']"),
])
def test_bad_outline_is_refused(text, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_outline(text)
