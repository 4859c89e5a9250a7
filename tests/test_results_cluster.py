"""results.py on a cluster: the declared path Snakemake tracks links to the file the job
wrote in results/<hw_id>/ (see workflow/rules/common.smk), and files are readable by all."""

import os
import stat

import pandas as pd

from actbench import results


def test_declared_path_links_to_the_nodes_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTBENCH_HW_ID", "node-a")
    monkeypatch.setenv("ACTBENCH_LINK_DIR", str(tmp_path / ".cluster" / "declared"))
    path = results.write_study(pd.DataFrame({"v": [1]}), "demo", tmp_path)
    link = tmp_path / ".cluster" / "declared" / "demo.parquet"
    assert link.is_symlink() and link.resolve() == path.resolve() == (tmp_path / "node-a" / "demo.parquet").resolve()
    assert not os.path.isabs(os.readlink(link))  # relative: survives moving the checkout
    assert results.hardware_ids(tmp_path) == ["node-a"]  # the hidden folder is not a machine

    monkeypatch.setenv("ACTBENCH_HW_ID", "node-b")  # the same study rerun elsewhere
    results.write_study(pd.DataFrame({"v": [2]}), "demo", tmp_path)
    assert link.resolve() == (tmp_path / "node-b" / "demo.parquet").resolve()
    assert pd.read_parquet(tmp_path / "node-a" / "demo.parquet")["v"].tolist() == [1]  # untouched
    assert not [p for p in link.parent.iterdir() if p.name.endswith(".tmp")]


def test_no_link_without_the_cluster_setting_or_for_other_files(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTBENCH_HW_ID", "node-a")
    monkeypatch.delenv("ACTBENCH_LINK_DIR", raising=False)
    results.write_study(pd.DataFrame({"v": [1]}), "demo", tmp_path)
    assert not (tmp_path / ".cluster").exists()
    monkeypatch.setenv("ACTBENCH_LINK_DIR", str(tmp_path / ".cluster" / "declared"))
    results.write_study(pd.DataFrame({"v": [1]}), "demo", tmp_path, path=tmp_path / "node-a" / "parts" / "p.parquet")
    assert not (tmp_path / ".cluster").exists()  # a part file is linked by its own writer


def test_results_are_readable_by_others(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTBENCH_HW_ID", "node-a")
    old = os.umask(0o022)
    try:
        path = results.write_study(pd.DataFrame({"v": [1]}), "demo", tmp_path)
        results.atomic_write_text(tmp_path / "n.json", "{}")
    finally:
        os.umask(old)
    for p in (path, tmp_path / "n.json"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o644
