"""Report for the `training_step` study: optimizer-step time per activation relative to ReLU
(and SiLU relative to GELU), the share of the step spent in the activation, beside the
tutorial's claimed training-time ratios. Writes ``tables/training_step-machines.md``
(one content tab per machine) for docs/kernels.md."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from actbench.claims import load_claims
from actbench.report.common import markdown_table, save_figure
from actbench.report.kernels import _indent
from actbench.results import atomic_write_text, read_parquet

STUDY = "training_step"
IDENTITY = "identity"


def claimed_ratios() -> dict[tuple[str, str], float]:
    """(model, activation) -> the tutorial's claimed step-time ratio vs ReLU (claims.yaml)."""
    out = {}
    for claim in load_claims():
        parts = claim["metric"].split(".")
        if (claim["study"] == STUDY and len(parts) == 3 and parts[2] == "step_time_ratio_vs_relu"
                and isinstance(claim["claimed"], (int, float))):
            out[(parts[0], parts[1])] = float(claim["claimed"])
    return out


def headline(df: pd.DataFrame) -> pd.DataFrame:
    """Rows at the largest thread count of each model (the pipeline's default is all cores)."""
    top = df.groupby("model")["threads"].transform("max")
    return df[df["threads"] == top]


def record_numbers(df: pd.DataFrame, hw: str, book, source: str) -> None:
    for _, r in headline(df).iterrows():
        prefix = f"{STUDY}.{hw}.{r['model']}.{r['activation']}"
        book.add(f"{prefix}.step_ms", 1e3 * float(r["median_s"]), fmt=".3g", source=source, hw=hw)
        if r["activation"] == IDENTITY:
            continue
        book.add(f"{prefix}.step_time_ratio_vs_relu", float(r["step_time_ratio_vs_relu"]), fmt=".2f",
                 source=source, hw=hw)
        # Speed as the tutorial states it ("trains at 75% of ReLU's speed"): steps per second.
        book.add(f"{prefix}.throughput_ratio_vs_relu", 1 / float(r["step_time_ratio_vs_relu"]), fmt=".2f",
                 source=source, hw=hw)
        book.add(f"{prefix}.activation_share_pct", 100 * float(r["activation_share"]), fmt=".0f",
                 source=source, hw=hw)
        if r["activation"] == "silu":
            book.add(f"{prefix}.step_time_ratio_vs_gelu", float(r["step_time_ratio_vs_gelu"]), fmt=".2f",
                     source=source, hw=hw)


def table(df: pd.DataFrame) -> pd.DataFrame:
    claims = claimed_ratios()
    rows = []
    for _, r in headline(df).iterrows():
        ms = 1e3
        rows.append({
            "model": r["model"], "activation": r["activation"], "threads": r["threads"],
            "step ms [p20–p80]": f"{r['median_s'] * ms:.3g} [{r['p20_s'] * ms:.3g}–{r['p80_s'] * ms:.3g}]"
                                 + (" ⚠" if r["noisy"] else ""),
            "vs ReLU": r["step_time_ratio_vs_relu"],
            "tutorial claim vs ReLU": claims.get((r["model"], r["activation"])),
            "vs GELU": r["step_time_ratio_vs_gelu"],
            "activation share %": 100 * r["activation_share"] if r["activation"] != IDENTITY else None,
        })
    return pd.DataFrame(rows)


def figure(df: pd.DataFrame, hw: str, path: Path) -> None:
    data = headline(df)
    data = data[data["activation"] != IDENTITY]
    models = list(dict.fromkeys(data["model"]))
    fig, axes = plt.subplots(1, len(models), figsize=(4.6 * len(models), 3.4), squeeze=False)
    for ax, model in zip(axes[0], models):
        sns.barplot(data=data[data["model"] == model], x="activation", y="step_time_ratio_vs_relu", ax=ax,
                    color="tab:blue")
        ax.axhline(1.0, color="black", lw=1)
        ax.set_title(model)
        ax.set_ylabel("step time / ReLU's")
        ax.tick_params(axis="x", rotation=60, labelsize=7)
    fig.suptitle(f"{hw}: one optimizer step, relative to ReLU")
    fig.tight_layout()
    save_figure(fig, path)


def build(results_dir: Path, out_dir: Path, book) -> None:
    tabs = []
    for path in sorted(Path(results_dir).glob(f"*/{STUDY}.parquet")):
        hw = path.parent.name
        if not book.use_machine(hw):
            continue
        df = read_parquet(path)
        record_numbers(df, hw, book, f"results/{hw}/{STUDY}.parquet")
        figure(df, hw, out_dir / "figures" / f"training-step-{hw}.svg")
        method = df["method"].iloc[0]
        body = [f"Timed with `{method}`; ⚠ marks IQR/median > 10%.",
                markdown_table(table(df), digits=3),
                f"![Optimizer-step time relative to ReLU on {hw}](generated/figures/training-step-{hw}.svg)"]
        tabs.append(f'=== "{hw}"\n\n' + "".join(_indent(p) + "\n" for p in body))
    if tabs:
        atomic_write_text(out_dir / "tables" / "training_step-machines.md", "".join(tabs))
