"""The claims ledger data and decision rules. Where the tutorial quotes a value or a
derivative, the registry must equal the 50-digit truth; the verdict then records
whether the tutorial's number survives its own tolerance."""

import re

import pytest
import torch

from actbench import activations, claims
from actbench import measurement as ms
from actbench.verdicts import judge
from mp_reference import df as mp_df, f as mp_f

CLAIMS = claims.load_claims()
POINT_CLAIMS = [c for c in CLAIMS if c["study"] == "shapes" and re.fullmatch(r"[a-z_0-9]+\.d?f@-?[0-9.]+", c["metric"])]


def test_ledger_is_large_and_well_formed():
    assert len(CLAIMS) >= 60
    assert len({c["id"] for c in CLAIMS}) == len(CLAIMS)
    for c in CLAIMS:
        if c["rule"]["kind"] == "not_testable":
            assert c.get("reason"), f"{c['id']} needs a reason"


def test_duplicate_ids_are_rejected():
    text = "- {id: a, section: '1', claim: x, claimed: 1, study: shapes, metric: m, rule: {kind: abs_tol, tol: 1}}\n" * 2
    with pytest.raises(claims.ClaimsError, match="duplicate claim id 'a'"):
        claims.load_claims(text)


@pytest.mark.parametrize("claim", POINT_CLAIMS, ids=[c["id"] for c in POINT_CLAIMS])
def test_registry_matches_truth_at_every_quoted_point(claim):
    name, quantity_at = claim["metric"].split(".", 1)
    quantity, x = quantity_at.split("@")
    x = float(x)
    spec = activations.get(name)
    fn, ref = (spec.f, mp_f) if quantity == "f" else (spec.df, mp_df)
    truth = float(ref(name, x))
    assert fn(torch.tensor([x], dtype=torch.float64)).item() == pytest.approx(truth, rel=1e-12, abs=1e-12)
    # The verdict is the tutorial's number judged against the truth by the claim's own rule.
    expected = judge(claim, ms.exact(truth)).verdict
    assert expected in ("confirmed", "refuted")


def test_known_tutorial_errors_are_refuted_by_the_rules():
    by_id = {c["id"]: c for c in CLAIMS}
    # GELU's derivative at -1 (tanh form) is negative; the tutorial says +0.17.
    def verdict(cid, truth):
        return judge(by_id[cid], ms.exact(float(truth))).verdict

    assert verdict("grad-gelu-tanh-at-minus1", mp_df("gelu_tanh", -1)) == "refuted"
    assert verdict("grad-silu-at-minus5", mp_df("silu", -5)) == "refuted"
    assert verdict("grad-tanh-at-2", mp_df("tanh", 2)) == "confirmed"


def test_every_claim_is_shown_beside_the_text_somewhere():
    from pathlib import Path

    docs = Path(__file__).resolve().parents[1] / "docs"
    shown = set()
    for page in docs.rglob("*.md"):
        text = page.read_text()
        shown |= set(re.findall(r'(?:claim|badge)\("([^"]+)"\)', text))
        for args in re.findall(r'claims_table\((.*?)\)\s*}}', text, re.S):  # several ids in one table
            args = re.sub(r'caption="[^"]*"', "", args)  # a caption is not an id
            shown |= set(re.findall(r'"([^"]+)"', args))
    ids = {c["id"] for c in CLAIMS}
    assert not ids - shown, f"claims no page shows: {sorted(ids - shown)}"
    assert not shown - ids, f"pages show unknown claims: {sorted(shown - ids)}"


def test_decision_tree_cites_each_architecture_ablation_where_that_architecture_is_chosen():
    """The ablation on an architecture (arch-<architecture>-...) bears on the advice for it:
    some rule that matches that architecture must cite it."""
    import json
    from pathlib import Path

    tree = json.loads((Path(__file__).resolve().parents[1] / "docs/assets/data/decision-tree.json").read_text())
    arch_claims = [c["id"] for c in CLAIMS if c["id"].startswith("arch-")]
    assert arch_claims
    for cid in arch_claims:
        arch = cid.split("-")[1]
        citing = [r["id"] for r in tree["rules"] if cid in r.get("claims", [])
                  and arch in r["when"].get("architecture", [])]
        assert citing, f"{cid}: no rule for architecture {arch!r} cites it"
