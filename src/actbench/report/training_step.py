"""Report for the `training_step` study: optimizer-step time per activation relative to ReLU
(and SiLU relative to GELU), the share of the step spent in the activation, beside the
tutorial's claimed training-time ratios. Writes ``tables/training_step-machines.md``
(one content tab per machine) for docs/kernels.md."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from actbench import measurement as ms
from actbench.claims import load_claims
from actbench import activations
from actbench.report.common import WIDTH_IN, copy_figure, markdown_table, panel_grid, save_figure
from actbench.report.kernels import _indent, tab_figure
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


def rounds_of(df: pd.DataFrame, model: str, activation: str) -> pd.Series:
    sel = df[(df["model"] == model) & (df["activation"] == activation)]
    if "round" not in sel:  # results from before rounds were introduced: one timing each
        sel = sel.assign(round=0)
    return sel.set_index("round")["median_s"]


def ratio(df: pd.DataFrame, model: str, act: str, ref: str) -> ms.Measurement:
    """Same-round step-time ratio act / ref: geometric mean, paired interval over rounds."""
    both = pd.concat([rounds_of(df, model, act).rename("a"), rounds_of(df, model, ref).rename("b")],
                     axis=1, join="inner").dropna()
    return ms.ratio_of_paired(both["a"], both["b"])


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, activation): median step time over rounds and its p20–p80."""
    g = headline(df).groupby(["model", "activation"], sort=False)["median_s"]
    return pd.DataFrame({"median_s": g.median(), "p20_s": g.quantile(0.2), "p80_s": g.quantile(0.8),
                         "rounds": g.count()}).reset_index()


def record_numbers(df: pd.DataFrame, hw: str, book, source: str) -> dict:
    """Record the ledger's numbers; return (model, activation) -> {vs_relu, vs_gelu, share}."""
    data, out = headline(df), {}
    add = lambda key, value, fmt: book.add(key, value, fmt=fmt, source=source, hw=hw)  # noqa: E731
    for r in summary(df).itertuples():
        prefix = f"{STUDY}.{hw}.{r.model}.{r.activation}"
        add(f"{prefix}.step_ms", 1e3 * float(r.median_s), ".3g")
        if r.activation == IDENTITY:
            continue
        vs_relu = ratio(data, r.model, r.activation, "relu")
        share = data[(data["model"] == r.model) & (data["activation"] == r.activation)]["activation_share"]
        out[(r.model, r.activation)] = {"vs_relu": vs_relu, "share": ms.mean_of(share)}
        if r.activation != "relu":
            add(f"{prefix}.step_time_ratio_vs_relu", vs_relu, ".2f")
            # Speed as the tutorial states it ("trains at 75% of ReLU's speed"): steps per second.
            add(f"{prefix}.throughput_ratio_vs_relu", ms.reciprocal(vs_relu), ".2f")
        add(f"{prefix}.activation_share_pct", ms.scaled(ms.mean_of(share), 100), ".0f")
        if r.activation == "silu":
            vs_gelu = ratio(data, r.model, "silu", "gelu")
            out[(r.model, r.activation)]["vs_gelu"] = vs_gelu
            add(f"{prefix}.step_time_ratio_vs_gelu", vs_gelu, ".2f")
    book.add(f"{STUDY}.{hw}.rounds", int(df["round"].nunique()) if "round" in df else 1, fmt="d", source=source,
             hw=hw)
    return out


def _ci(m) -> str:
    return "–" if m is None else f"{m.estimate:.3f} [{m.ci_low:.3f}, {m.ci_high:.3f}]"


def table(df: pd.DataFrame, measured: dict) -> pd.DataFrame:
    claims = claimed_ratios()
    rows = []
    for r in summary(df).itertuples():
        ms_ = 1e3
        found = measured.get((r.model, r.activation), {})
        rows.append({
            "model": r.model, "activation": r.activation,
            "step ms [p20–p80 over rounds]": f"{r.median_s * ms_:.3g} [{r.p20_s * ms_:.3g}–{r.p80_s * ms_:.3g}]",
            "vs ReLU [95% CI]": "1 (baseline)" if r.activation == "relu" else _ci(found.get("vs_relu")),
            "tutorial claim vs ReLU": claims.get((r.model, r.activation)),
            "vs GELU [95% CI]": _ci(found.get("vs_gelu")),
            "activation share %": (None if r.activation == IDENTITY or "share" not in found
                                   else 100 * found["share"].estimate),
        })
    return pd.DataFrame(rows)


def figure(df: pd.DataFrame, measured: dict, path: Path) -> None:
    """Step time over ReLU's per model and activation: the same-round geometric mean and its
    paired 95 % interval, as points on an axis zoomed to the ratios (not bars from 0)."""
    rows = [{"model": model, "activation": act, "ratio_vs_relu": m.estimate, "ci_low": m.ci_low, "ci_high": m.ci_high,
             "rounds": m.n}
            for (model, act), found in measured.items() if act != IDENTITY and (m := found.get("vs_relu"))]
    if not rows:
        return
    data = pd.DataFrame(rows)
    models = list(dict.fromkeys(data["model"]))
    # two models per row: each panel keeps room for its activation names and its ratios
    fig, axes = panel_grid(len(models), 2, 0.24 * data.groupby("model").size().max() + 0.9, "step time / ReLU's", "",
                           width=WIDTH_IN - 0.2)
    for ax, model in zip(axes, models):
        sub = data[data["model"] == model].sort_values("ratio_vs_relu").reset_index(drop=True)
        for i, r in sub.iterrows():
            ax.errorbar([r["ratio_vs_relu"]], [i], xerr=[[r["ratio_vs_relu"] - r["ci_low"]],
                                                        [r["ci_high"] - r["ratio_vs_relu"]]],
                        fmt="o", capsize=3, color=activations.colour(r["activation"], "#555555"))
        ax.axvline(1.0, color="black", lw=1)
        ax.set_yticks(range(len(sub)), [activations.label(a) for a in sub["activation"]])
        ax.set_title(model)
        ax.xaxis.set_major_locator(plt.MaxNLocator(4))
    fig.tight_layout()
    save_figure(fig, path, data=data, source=df)


def build(results_dir: Path, out_dir: Path, book) -> None:
    tabs = []
    for path in sorted(Path(results_dir).glob(f"*/{STUDY}.parquet")):
        hw = path.parent.name
        if not book.use_machine(hw):
            continue
        df = read_parquet(path)
        measured = record_numbers(df, hw, book, f"results/{hw}/{STUDY}.parquet")
        figure(df, measured, out_dir / "figures" / f"training-step-{hw}.svg")
        if not tabs:  # the chapters show the first machine's chart under a fixed name
            copy_figure(out_dir / "figures", f"training-step-{hw}", "training_step")
        method = df["method"].iloc[0]
        body = [f"Timed with `{method}` in {df['round'].nunique() if 'round' in df else 1} interleaved rounds; "
                "ratios are geometric means of same-round ratios with paired 95% intervals.",
                markdown_table(table(df, measured), digits=3),
                tab_figure(out_dir / "figures", f"training-step-{hw}", f"Optimizer-step time relative to ReLU on {hw}",
                           "One optimizer step's time over ReLU's, per model (95 % interval over rounds).")]
        tabs.append(f'=== "{hw}"\n\n' + "".join(_indent(p) + "\n" for p in body))
    if tabs:
        atomic_write_text(out_dir / "tables" / "training_step-machines.md", "".join(tabs))
