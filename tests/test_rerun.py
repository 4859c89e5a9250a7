"""actbench.rerun: comparing two runs of a timing study on the same-run ratios."""

import pandas as pd
import pytest

from actbench import rerun
from actbench.cli import main


def frame(values, hw="cpu-test-1c", numel=2 ** 22, quantity="ratio_vs_relu", status="ok"):
    rows = [{"activation": act, "provider": "eager", "mode": "forward", "dtype": "float32", "numel": numel,
             "threads": 1, "hw_id": hw, "status": status, "median_s": v, "copy_fraction": 1 / v, quantity: v}
            for act, v in values.items()]
    return pd.DataFrame(rows)


def test_ratio_changes_within_and_beyond_tolerance_are_told_apart():
    old = frame({"gelu": 2.0, "tanh": 3.0, "elu": 1.0})
    new = frame({"gelu": 2.5, "tanh": 2.97, "elu": 1.05})
    pair = rerun.compare(old, new, min_log2=20, tolerance=0.10, quantities=["ratio_vs_relu"])
    assert list(pair["activation"]) == ["gelu", "elu", "tanh"]  # largest change first
    assert pair.set_index("activation")["within"].to_dict() == {"gelu": False, "elu": True, "tanh": True}
    assert pair.set_index("activation").loc["gelu", "change"] == pytest.approx(0.25)
    assert rerun.summary(pair, 0.10).startswith("ratio_vs_relu: 2 of 3 large-size values within 10%")


def test_drift_of_absolute_medians_does_not_count_by_default():
    # Every median 30 % slower (bandwidth drift), ratios unchanged: the default check passes.
    old = frame({"gelu": 2.0, "tanh": 3.0}).assign(median_s=[1.0, 1.5])
    new = frame({"gelu": 2.0, "tanh": 3.0}).assign(median_s=[1.3, 1.95])
    assert rerun.compare(old, new)["within"].all()
    assert not rerun.compare(old, new, quantities=["median_s"])["within"].any()


def test_a_file_against_itself_agrees_fully_and_untimed_rows_are_ignored():
    df = pd.concat([frame({"gelu": 2.0, "tanh": 3.0}),
                    frame({"mish": float("nan")}, status="unavailable: no backward out= overload"),
                    frame({"relu": 1.0}), frame({"copy": 1.0})])
    pair = rerun.compare(df, df)
    assert pair["within"].all() and len(pair) == 5
    assert set(pair.loc[pair["quantity"] == "ratio_vs_relu", "activation"]) == {"gelu", "tanh"}  # relu: 1 by construction
    assert "copy" not in set(pair["activation"])


def test_small_sizes_are_left_out():
    old = pd.concat([frame({"gelu": 1.0}, numel=2 ** 12), frame({"gelu": 1.0})])
    new = pd.concat([frame({"gelu": 9.0}, numel=2 ** 12), frame({"gelu": 1.0})])
    pair = rerun.compare(old, new, min_log2=20)
    assert len(pair) == 2 and pair["within"].all()  # one row per quantity, both at 2^22


def test_runs_of_different_machines_are_refused():
    with pytest.raises(ValueError, match="different machines"):
        rerun.compare(frame({"gelu": 1.0}), frame({"gelu": 1.0}, hw="gpu-other"))


def test_bad_tolerance_and_quantity_are_refused():
    with pytest.raises(ValueError, match="tolerance must be between 0 and 1"):
        rerun.compare(frame({"gelu": 1.0}), frame({"gelu": 1.0}), tolerance=10)
    with pytest.raises(ValueError, match="unknown quantities"):
        rerun.compare(frame({"gelu": 1.0}), frame({"gelu": 1.0}), quantities=["speed"])


def test_command_prints_the_summary(tmp_path, capsys):
    old, new = tmp_path / "old.parquet", tmp_path / "new.parquet"
    frame({"gelu": 1.0}).to_parquet(old)
    frame({"gelu": 1.2}).to_parquet(new)
    assert main(["rerun-check", str(old), str(new)]) == 0
    assert "ratio_vs_relu: 0 of 1 large-size values within 10%" in capsys.readouterr().out
    assert main(["rerun-check", str(old), str(tmp_path / "missing.parquet")]) == 2
    assert "does not exist" in capsys.readouterr().err


def cost_rounds(gelu_factor: float, rounds: int = 5) -> pd.DataFrame:
    """A kernel_cost-like table: copy, relu and gelu timed in interleaved rounds."""
    rows = []
    for r in range(rounds):
        for act, mode, t in [("copy", "copy", 1.0), ("relu", "forward", 1.1 + 0.01 * r),
                             ("gelu", "forward", (1.1 + 0.01 * r) * gelu_factor)]:
            rows.append({"regime": "memory-bound", "activation": act, "provider": "eager_out", "mode": mode,
                         "round": r, "dtype": "float32", "numel": 2 ** 25, "log2_numel": 25, "threads": 2,
                         "element_size": 4, "bytes_moved": 2 * 4 * 2 ** 25, "median_s": t, "hw_id": "cpu-test-1c"})
    return pd.DataFrame(rows)


def test_kernel_cost_runs_are_compared_on_their_round_medians():
    pair = rerun.compare_cost(cost_rounds(3.0), cost_rounds(3.6))
    ratio = pair[(pair["activation"] == "gelu") & (pair["quantity"] == "ratio_vs_relu")].iloc[0]
    assert ratio["old"] == pytest.approx(3.0) and ratio["change"] == pytest.approx(0.2) and not ratio["within"]
    same = rerun.compare_cost(cost_rounds(3.0), cost_rounds(3.0))
    assert same["within"].all() and same["overlap"].all()


def test_command_on_a_file_against_itself_reports_full_agreement(tmp_path, capsys):
    # Timed rows, rows never timed (no value, a status saying why) and the trivial copy/ReLU rows.
    path = tmp_path / "kernels.parquet"
    pd.concat([frame({"gelu": 2.0, "tanh": 3.0}), frame({"relu": 1.0}), frame({"copy": 1.0}),
               frame({"mish": float("nan")}, status="unavailable: no backward out= overload"),
               frame({"elu": float("nan")}, status="timing failed: RuntimeError: boom")]).to_parquet(path)
    assert main(["rerun-check", str(path), str(path), "--show", "0"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "copy_fraction: 3 of 3 large-size values within 10% (median |change| 0.0%; "
        "worst +0.0%: gelu eager forward float32 2^22 1 thread(s))",
        "ratio_vs_relu: 2 of 2 large-size values within 10% (median |change| 0.0%; "
        "worst +0.0%: gelu eager forward float32 2^22 1 thread(s))",
    ]


def cost_blocks(factor: float, blocks: int = 3, rounds: int = 2, act: str = "gelu") -> pd.DataFrame:
    """A kernel_cost-like table in blocks, both regimes and modes; ``act``'s ratio to ReLU
    moves a little from block to block (a different buffer, another minute)."""
    rows = []
    for regime in ("compute-bound", "memory-bound"):
        for b in range(blocks):
            for r in range(rounds):
                relu = 1.0 + 0.01 * r
                for act, mode, t in [("copy", "copy", 0.5), ("relu", "forward", relu),
                                     ("relu", "forward+backward", 2 * relu),
                                     (act, "forward", relu * factor * (1 + 0.02 * b)),
                                     (act, "forward+backward", 2 * relu * factor * (1 + 0.02 * b))]:
                    rows.append({"regime": regime, "activation": act, "provider": "eager_out", "mode": mode,
                                 "block": b, "round": r, "dtype": "float32", "numel": 2 ** 12, "log2_numel": 12,
                                 "threads": 1, "element_size": 4, "bytes_moved": 2 * 4 * 2 ** 12, "median_s": t,
                                 "hw_id": "cpu-test-1c"})
    return pd.DataFrame(rows)


def test_two_block_runs_are_compared_on_their_block_intervals():
    pair = rerun.compare_cost(cost_blocks(5.0), cost_blocks(5.0))
    assert not pair.empty and pair["within"].all() and pair["overlap"].all()
    moved = rerun.compare_cost(cost_blocks(5.0), cost_blocks(8.0))
    gelu = moved[(moved["activation"] == "gelu") & (moved["quantity"] == "ratio_vs_relu")]
    assert list(gelu["change"]) == pytest.approx([0.6] * len(gelu)) and not gelu["overlap"].any()


def test_cost_verdicts_of_two_runs_agree_only_when_the_runs_do(tmp_path):
    from actbench.report.numbers import NumberBook
    from actbench.report.reproducibility import cost_verdicts, verdict_agreement

    # the tutorial's 7x for tanh: 7x is inside its window (a factor 1.4), 3x wholly below it
    near, far = cost_blocks(7.0, act="tanh"), cost_blocks(3.0, act="tanh")
    assert cost_verdicts(near, "cpu-test-1c")["cost-table-tanh"] == "confirmed"
    assert cost_verdicts(far, "cpu-test-1c")["cost-table-tanh"] == "refuted"
    book = NumberBook()
    verdict_agreement(near, near, "cpu-test-1c", "rerun", book, "", tmp_path)
    assert book.get("kernel_cost.cpu-test-1c.rerun.verdicts.agree")["value"] == \
        book.get("kernel_cost.cpu-test-1c.rerun.verdicts.compared")["value"] > 0
    assert "same verdict" in (tmp_path / "tables" / "kernel_cost-rerun-verdicts-cpu-test-1c.md").read_text()
    book = NumberBook()
    verdict_agreement(near, far, "cpu-test-1c", "rerun", book, "", tmp_path)
    split = (tmp_path / "tables" / "kernel_cost-rerun-verdicts-cpu-test-1c.md").read_text()
    assert "claim-cost-table-tanh" in split and book.get("kernel_cost.cpu-test-1c.rerun.verdicts.agree")["value"] < \
        book.get("kernel_cost.cpu-test-1c.rerun.verdicts.compared")["value"]


def test_kernel_runs_in_blocks_are_also_compared_on_their_intervals():
    def with_ci(values, half):
        df = frame(values)
        return df.assign(ratio_vs_relu_ci_low=df["ratio_vs_relu"] / half, ratio_vs_relu_ci_high=df["ratio_vs_relu"] * half)

    old = with_ci({"gelu": 2.0, "tanh": 3.0}, 1.05)
    new = with_ci({"gelu": 2.05, "tanh": 4.0}, 1.05)
    pair = rerun.compare(old, new, quantities=["ratio_vs_relu"]).set_index("activation")
    assert pair["overlap"].to_dict() == {"tanh": False, "gelu": True}
    assert "95 % intervals overlap for 1 of 2" in rerun.summary(pair.reset_index(), 0.10)
    # runs without intervals (one block, or older files) say nothing about overlap
    assert "overlap" not in rerun.summary(rerun.compare(frame({"gelu": 2.0}), frame({"gelu": 2.0})), 0.10)


def test_blocks_needed_is_enough_for_two_runs_to_agree_within_ten_percent():
    """Simulated runs whose blocks scatter by a known spread: with the number of blocks
    blocks_needed derives from one run's interval, two runs agree within 10 % about 95 %
    of the time; with a quarter of them, clearly less often."""
    import numpy as np
    from scipy.stats import t as t_dist

    from actbench.report.reproducibility import blocks_needed, paired_intervals

    rng = np.random.default_rng(0)
    sd, k = 0.12, 8
    half = t_dist.ppf(0.975, k - 1) * sd / np.sqrt(k)  # the interval a run of k blocks would report
    need = int(blocks_needed(pd.Series([np.exp(-half)]), pd.Series([np.exp(half)]), pd.Series([k])).iloc[0])
    assert need > k  # this spread needs more than the 8 blocks it was measured with

    def agree(n):
        a, b = (rng.normal(0, sd, (20_000, n)).mean(axis=1) for _ in range(2))
        return np.mean(np.abs(np.exp(b - a) - 1) <= 0.10)

    assert 0.93 <= agree(need) <= 0.97
    assert agree(max(1, need // 4)) < 0.85
    # and the agreement expected from two such runs of k blocks is what simulation gives
    run = frame({"gelu": 2.0}).assign(blocks=k, ratio_vs_relu_ci_low=2.0 * np.exp(-half),
                                      ratio_vs_relu_ci_high=2.0 * np.exp(half))
    compared = rerun.compare(run, run, quantities=["ratio_vs_relu"])
    assert paired_intervals(compared, run, run, "ratio_vs_relu")["p_within"].iloc[0] == pytest.approx(agree(k), abs=0.02)
    # one block has no interval, so nothing can be said
    assert blocks_needed(pd.Series([0.9]), pd.Series([1.1]), pd.Series([1])).isna().all()


def test_report_records_per_size_and_block_interval_numbers(tmp_path):
    from actbench.report import reproducibility
    from actbench.report.numbers import NumberBook

    def run(values):
        rows = []
        for numel in (2 ** 20, 2 ** 25):
            df = frame(values, numel=numel)
            rows.append(df.assign(blocks=4, ratio_vs_relu_ci_low=df["ratio_vs_relu"] / 1.2,
                                  ratio_vs_relu_ci_high=df["ratio_vs_relu"] * 1.2,
                                  copy_fraction_ci_low=df["copy_fraction"] / 1.1,
                                  copy_fraction_ci_high=df["copy_fraction"] * 1.1))
        return pd.concat(rows, ignore_index=True)

    machine = tmp_path / "cpu-test-1c" / "rerun"
    machine.mkdir(parents=True)
    run({"gelu": 2.0, "tanh": 3.0}).to_parquet(machine / "kernels.blocks.first.parquet")
    run({"gelu": 2.1, "tanh": 4.0}).to_parquet(machine / "kernels.blocks.second.parquet")
    book = NumberBook()
    reproducibility.build(tmp_path, tmp_path / "out", book)
    prefix = "kernels.cpu-test-1c.rerun_blocks"
    assert book.get(f"{prefix}.blocks")["value"] == 4
    assert book.get(f"{prefix}.ratio_vs_relu.log2_25.within_pct")["value"] == pytest.approx(50)  # gelu yes, tanh no
    assert book.get(f"{prefix}.ratio_vs_relu.log2_20.compared")["value"] == 2
    assert book.get(f"{prefix}.ratio_vs_relu.log2_25.half_width_pct")["value"] == pytest.approx(20)
    assert book.get(f"{prefix}.copy_fraction.log2_20.half_width_pct")["value"] == pytest.approx(10)
    # a wider interval (the same number of blocks) means more blocks to agree within 10 %
    assert book.get(f"{prefix}.ratio_vs_relu.log2_25.blocks_needed")["value"] > \
        book.get(f"{prefix}.copy_fraction.log2_25.blocks_needed")["value"]
    # the wider the blocks' scatter, the less agreement it predicts
    assert 0 < book.get(f"{prefix}.ratio_vs_relu.log2_25.expected_within_pct")["value"] < \
        book.get(f"{prefix}.copy_fraction.log2_25.expected_within_pct")["value"] < 100
    # tanh moved by a third: every slice agreed less often than the blocks' scatter predicts
    assert book.get(f"{prefix}.slices")["value"] == book.get(f"{prefix}.slices_below_expected")["value"] == 4


def test_summary_has_a_line_per_size_when_the_runs_share_several():
    old = pd.concat([frame({"gelu": 2.0, "tanh": 3.0}, numel=2 ** 20), frame({"gelu": 2.0, "tanh": 3.0}, numel=2 ** 25)])
    new = pd.concat([frame({"gelu": 2.0, "tanh": 3.0}, numel=2 ** 20), frame({"gelu": 2.0, "tanh": 4.0}, numel=2 ** 25)])
    lines = rerun.summary(rerun.compare(old, new, quantities=["ratio_vs_relu"]), 0.10).splitlines()
    assert lines[0].startswith("ratio_vs_relu: 3 of 4 large-size values within 10%")
    assert lines[1].startswith("  at 2^20: 2 of 2") and lines[2].startswith("  at 2^25: 1 of 2")
    assert "worst +33.3%: tanh" in lines[2]


def test_block_numbers_need_intervals_in_both_runs(tmp_path):
    from actbench.report import reproducibility
    from actbench.report.numbers import NumberBook

    machine = tmp_path / "cpu-test-1c" / "rerun"
    machine.mkdir(parents=True)
    blocked = frame({"gelu": 2.0}).assign(blocks=4, ratio_vs_relu_ci_low=1.8, ratio_vs_relu_ci_high=2.2)
    blocked.to_parquet(machine / "kernels.blocks.first.parquet")
    frame({"gelu": 2.0}).assign(blocks=1).to_parquet(machine / "kernels.blocks.second.parquet")
    book = NumberBook()
    reproducibility.build(tmp_path, tmp_path / "out", book)
    assert book.get("kernels.cpu-test-1c.rerun_blocks.ratio_vs_relu.compared")["value"] == 1
    assert book.get("kernels.cpu-test-1c.rerun_blocks.blocks") is None
    assert not [k for k in book.as_dict()["numbers"] if "half_width" in k or "blocks_needed" in k]


def test_a_shift_in_the_machines_balance_shows_as_one_direction_below_the_copy_bandwidth():
    """Activations limited by their arithmetic (well below the copy bandwidth) all move
    against ReLU when the machine's arithmetic-to-memory balance changes; the ones at the
    copy bandwidth do not. balance_shift splits them and counts the common direction."""
    from actbench.report.numbers import NumberBook
    from actbench.report.reproducibility import balance_shift

    rows = []
    for act, level, shift in [("tanh", 0.15, -0.17), ("elu", 0.3, -0.19), ("gelu", 0.5, -0.15),
                              ("leaky_relu", 1.0, 0.02), ("relu6", 0.95, -0.01)]:
        for quantity, old in (("copy_fraction", level), ("ratio_vs_relu", 1 / level)):
            change = shift if quantity == "ratio_vs_relu" else -shift / 2
            rows.append({"regime": "memory-bound", "activation": act, "provider": "eager_out", "mode": "forward",
                         "dtype": "float32", "numel": 2 ** 25, "threads": 2, "quantity": quantity, "old": old,
                         "new": old * (1 + change), "change": change})
    pair = pd.DataFrame(rows)
    book = NumberBook()
    balance_shift(pair, "kernel_cost.hw.rerun", book.add)
    below = "kernel_cost.hw.rerun.memory-bound.ratio_vs_relu.below_copy."
    near = "kernel_cost.hw.rerun.memory-bound.ratio_vs_relu.near_copy."
    assert book.get(below + "n")["value"] == book.get(below + "same_direction")["value"] == 3
    assert book.get(below + "median_change_pct")["value"] == pytest.approx(-17)
    assert book.get(below + "min_change_pct")["value"] == pytest.approx(-19)
    assert book.get(near + "n")["value"] == 2 and book.get(near + "same_direction")["value"] == 1
    # the sweep has no regimes: its largest size is the out-of-cache one
    book = NumberBook()
    balance_shift(pair.drop(columns="regime"), "kernels.hw.rerun", book.add)
    assert book.get("kernels.hw.rerun.log2_25.ratio_vs_relu.below_copy.n")["value"] == 3
