"""The claims audit: each claim of the paper, quoted with its section, and a verdict computed
from the store under the paper's own protocol (one 80/20 split) and under 5-fold cv with equal
tuning, with the numbers behind it.

Only the quotes and section references are typed here; every number comes from the report's
tables or the stored experiments, and every verdict from a stated threshold:

- ``holds``: the test passes everywhere it can be checked;
- ``holds partly``: it passes on some datasets / metrics / settings but not all;
- ``does not hold``: it passes nowhere;
- ``not testable here``: the store has no evidence for it (or it is a judgement, not a number).

:func:`audit` builds the rows; :func:`claims_markdown` and :func:`claims_html` render them
(``results/CLAIMS.md`` and a section of ``report.html``). Output is deterministic: rows in a
fixed order, fixed number formats, no timestamps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from ..evaluation.statistics import paired_ttest
from ..experiments.figure_experiments import load_communities, load_convergence, load_k_sweep
from ..experiments.figure_experiments.exposure_recovery import MODEL_PARAMS as RECOVERY_FITS
from ..experiments.figure_experiments.exposure_recovery import load_exposure_recovery
from .figure_plots import choose_scoring_on_validation
from .html import inline
from .paper import dataset_label, paper_match
from .tables import Table, epoch_seconds, final_frame

HOLDS, PARTLY, NOT_HOLD, UNTESTABLE = "holds", "holds partly", "does not hold", "not testable here"
ALPHA = 0.05
PAPER_METRICS = ("pre@5", "rec@5", "ndcg@5", "mrr_sum")   # the paper's four Table-3 columns
FIGURE_DATASET = "ml-1m"
#: thresholds of the verdicts (named in the evidence text)
SPEEDUP_CLAIMED = 16.0
SPEEDUP_HOLDS = 8.0             # at least half the claimed fBGD / BGD speed-up
LINEAR_SLOPE = (0.7, 1.3)       # log-log slope of seconds per epoch against |X+|
CONVERGED_SHARE = 0.95          # "converged": within 5% of the curve's best value
IMPV_SHARE = 0.5                # our Impv% at least half the paper's, same sign
RECOVERY_MARGIN = 0.01          # AUC over item popularity's, averaged over seeds
DIAGNOSIS_CONTRAST = ("douban-monti",)
TIMING_CAVEAT = ("Seconds were measured on a shared 2-core machine under other jobs' load, which varied between runs: "
                 "ratios within one run compare, absolute seconds across runs only roughly.")   # a dataset where FAWMF leads, measured the same way


@dataclass(frozen=True)
class Claim:
    """One audited claim: the paper's words, where they are, and the two verdicts."""

    key: str
    quote: str
    where: str
    paper_verdict: str
    cv_verdict: str
    evidence: str


def verdict(passed: Sequence[bool]) -> str:
    """``holds`` if every check passed, ``holds partly`` if some did, ``does not hold`` if
    none did; ``not testable here`` when there was nothing to check."""
    if len(passed) == 0:
        return UNTESTABLE
    if all(passed):
        return HOLDS
    return PARTLY if any(passed) else NOT_HOLD


def _f(value: float, spec: str = ".4f") -> str:
    if value is not None and np.isinf(value):
        return "never" if value > 0 else "-inf"
    return "n/a" if value is None or not np.isfinite(value) else format(value, spec)


def _table3_frames(tables: Iterable[Table]) -> dict[tuple[str, str], pd.DataFrame]:
    """(dataset, protocol) -> Table 3's CSV frame with numeric columns."""
    out = {}
    for table in tables:
        if not table.name.startswith("table3-"):
            continue
        data = table.data.copy()
        for column in ("mean", "std", "paper", "ttest_p", "wilcoxon_p"):
            data[column] = pd.to_numeric(data[column].replace("", np.nan), errors="coerce")
        rest = table.name[len("table3-"):]
        dataset, _, protocol = rest.rpartition("-")
        out[(dataset, protocol)] = data
    return out


def _impv_rows(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[(frame["method"] == "Impv%") & frame["metric"].isin(PAPER_METRICS)]


def _significant_win(row: pd.Series, protocol: str) -> bool:
    """FAWMF ahead of the best other method, significantly: t-test over folds under cv (the
    Wilcoxon test on per-user values when only one split exists)."""
    p = row["ttest_p"] if protocol == "cv" else row["wilcoxon_p"]
    return bool(row["mean"] > 0 and np.isfinite(p) and p < ALPHA)


def _label(dataset: str) -> str:
    return dataset_label(dataset)


# ------------------------------------------------------------------------- the claims


def claim_beats_every_baseline(t3: dict[tuple[str, str], pd.DataFrame]) -> Claim:
    verdicts, lines = {}, []
    for protocol in ("paper", "cv"):
        checks = []
        for (dataset, proto), frame in sorted(t3.items()):
            if proto != protocol:
                continue
            rows = _impv_rows(frame)
            wins = [_significant_win(r, protocol) for _, r in rows.iterrows()]
            checks += wins
            cells = ", ".join(f"{r['metric']} {_f(r['mean'], '+.2f')}% vs {r['best_baseline']}"
                              for _, r in rows.iterrows())
            lines.append(f"{protocol}: {_label(dataset)}: {sum(wins)}/{len(wins)} metrics won with p < {ALPHA} ({cells})")
        verdicts[protocol] = verdict(checks)
    evidence = ("Check per (dataset, metric) of Pre@5, Rec@5, NDCG@5, MRR (paper): FAWMF's Impv% over the best "
                f"other method > 0 and p < {ALPHA} (paired t-test over folds under cv; Wilcoxon on per-user values "
                "on the single split). " + "; ".join(lines) + ".")
    return Claim("table3-wins", "with one exception, FAWMF outperforms all compared methods on all datasets for all metrics",
                 "Performance comparison (Q1), Table 3", verdicts["paper"], verdicts["cv"], evidence)


def claim_impv(t3: dict[tuple[str, str], pd.DataFrame]) -> Claim:
    verdicts, lines = {}, []
    for protocol in ("paper", "cv"):
        checks = []
        for (dataset, proto), frame in sorted(t3.items()):
            if proto != protocol or paper_match(dataset) is None:
                continue
            rows = _impv_rows(frame)
            for _, r in rows.iterrows():
                if np.isfinite(r["paper"]) and r["paper"] > 0:
                    checks.append(bool(r["mean"] >= IMPV_SHARE * r["paper"]))
            cells = ", ".join(f"{r['metric']} {_f(r['mean'], '+.2f')}% (paper {_f(r['paper'], '+.2f')}%)"
                              for _, r in rows.iterrows())
            lines.append(f"{protocol}: {_label(dataset)}: {cells}")
        verdicts[protocol] = verdict(checks)
    evidence = (f"Check per (dataset, metric): our Impv% >= {IMPV_SHARE:g} x the paper's Impv% over the same methods "
                "(paper column of Table 3). " + "; ".join(lines) + ". Stand-in datasets are different data: their gaps, "
                "not levels, are what compares.")
    return Claim("impv", "the last row of Table 3 also show the relative improvements achieved by our FAWMF over the baselines",
                 "Table 3, Impv% row", verdicts["paper"], verdicts["cv"], evidence)


def claim_speedup(store_root: Path, finals: list[dict[str, Any]], stats: dict[str, dict[str, Any]]) -> Claim:
    folder = store_root / FIGURE_DATASET / "convergence"
    per_epoch = {}
    for label in ("fbgd", "bgd"):
        path = folder / f"{label}.json"
        if path.is_file():
            record = json.loads(path.read_text())
            per_epoch[label] = float(record["fit_seconds"]) / max(int(record["epochs"]), 1)
    checks, parts = [], []
    if len(per_epoch) == 2:
        ratio = per_epoch["bgd"] / per_epoch["fbgd"]
        checks.append(ratio >= SPEEDUP_HOLDS)
        parts.append(f"ML-1M (paper split, Figure 4 runs): BGD {_f(per_epoch['bgd'], '.3f')} s/epoch, fBGD "
                     f"{_f(per_epoch['fbgd'], '.3f')} s/epoch: {_f(ratio, '.1f')}x (claimed {SPEEDUP_CLAIMED:g}x; "
                     f"holds at >= {SPEEDUP_HOLDS:g}x)")
    epochs = epoch_seconds([r for r in finals if r["unit"]["method"] == "fawmf" and r["unit"]["protocol"] == "cv"])
    if not epochs.empty:
        medians = epochs.groupby("dataset")["seconds"].median()
        sizes = {d: float(stats[d]["positives"]) for d in medians.index if d in stats}
        if len(sizes) >= 3:
            x = np.log([sizes[d] for d in sorted(sizes)])
            y = np.log([float(medians[d]) for d in sorted(sizes)])
            slope = float(np.polyfit(x, y, 1)[0])
            checks.append(LINEAR_SLOPE[0] <= slope <= LINEAR_SLOPE[1])
            cells = ", ".join(f"{d} {int(sizes[d]):,} positives {_f(float(medians[d]), '.3f')} s" for d in sorted(sizes))
            parts.append(f"FAWMF (fBGD) median s/epoch of the cv finals: {cells}; log-log slope against |X+| "
                         f"{_f(slope, '.2f')} (linear if within {LINEAR_SLOPE[0]:g}-{LINEAR_SLOPE[1]:g}; the "
                         "(n + m) K^2 D term and a shared, loaded machine blur it)")
    result = verdict(checks)
    evidence = ("; ".join(parts) + ". " + TIMING_CAVEAT) if parts else "No fBGD / BGD timings in the store."
    return Claim("fbgd-speed", "fBGD accelerates original BGD for 16 times; its complexity is linear to the number of "
                 "the observed positive data", "Effect of batch-based learning algorithm (Q2), Figure 4; Introduction",
                 result, result + " (timing does not depend on the protocol)", evidence)


def time_to_reach(curve: pd.DataFrame, target: float, metric: str = "pre@5") -> float:
    """Training seconds at the first evaluation with ``metric`` >= ``target`` (inf if never)."""
    hit = curve[curve[metric] >= target]
    return float(hit["seconds"].min()) if not hit.empty else float("inf")


def claim_convergence(store_root: Path) -> Claim:
    frame = load_convergence(store_root, FIGURE_DATASET)
    if frame.empty or "fbgd" not in set(frame["label"]):
        return Claim("fbgd-convergence", "our proposed fBGD performs better than others in all convergence, speed and "
                     "recommended performance", "Effect of batch-based learning algorithm (Q2), Figure 4",
                     UNTESTABLE, UNTESTABLE, "No convergence experiment in the store.")
    chosen = choose_scoring_on_validation(frame)
    curves = {label: frame[(frame["label"] == label) & (frame["scoring"] == chosen[label])].sort_values("epoch")
              for label in sorted(set(frame["label"]))}
    best = {label: float(c["pre@5"].max()) for label, c in curves.items()}
    target = CONVERGED_SHARE * best["fbgd"]
    reach = {label: time_to_reach(c, target) for label, c in curves.items()}
    sgd = [label for label in curves if label not in ("fbgd", "bgd")]
    days = {label: _written_day(store_root / FIGURE_DATASET / "convergence" / f"{label}.json") for label in curves}
    checks = [reach["fbgd"] < reach[label] and best["fbgd"] >= best[label] for label in sgd]
    cells = ", ".join(f"{label}: best {_f(best[label])}, {_f(reach[label], '.1f')}"
                      + (" s" if np.isfinite(reach[label]) else "") for label in sorted(curves))
    evidence = (f"Per learner (scoring chosen on validation): best test Pre@5 and training seconds to reach "
                f"{CONVERGED_SHARE:g} x fBGD's best ({_f(target)}): {cells}. Check per SGD learner: fBGD "
                "gets there sooner and ends at least as high. Curves timed on: "
                + ", ".join(f"{day} ({', '.join(sorted(l for l in curves if days[l] == day))})"
                            for day in sorted(set(days.values()))) + ". " + TIMING_CAVEAT)
    result = verdict(checks)
    return Claim("fbgd-convergence", "our proposed fBGD performs better than others in all convergence, speed and "
                 "recommended performance", "Effect of batch-based learning algorithm (Q2), Figure 4",
                 result, "not run (Figure 4 uses the paper split)", evidence)


def _written_day(path: Path) -> str:
    """The date a stored piece was written (its provenance), or "?"."""
    try:
        return str(json.loads(path.read_text())["provenance"]["written"])[:10]
    except (OSError, KeyError, TypeError, ValueError):
        return "?"


def claim_k_sweep(store_root: Path) -> Claim:
    frame = load_k_sweep(store_root, FIGURE_DATASET)
    quote = "with few exceptions, FAWMF consistently outperforms eALS and WMF across K"
    where = "Effect of the parameter K, Figure 5"
    if frame.empty or "fawmf" not in set(frame["method"]):
        return Claim("k-sweep", quote, where, UNTESTABLE, UNTESTABLE, "No k-sweep in the store.")
    means = frame.groupby(["factors", "method"])["pre@5"].mean().unstack("method")
    checks, cells = [], []
    for k, row in means.iterrows():
        others = row.drop(labels="fawmf").dropna()
        if np.isfinite(row.get("fawmf", np.nan)) and not others.empty:
            checks.append(bool(row["fawmf"] > others.max()))
            cells.append(f"K={k}: FAWMF {_f(row['fawmf'])} vs best other {_f(others.max())} ({others.idxmax()})")
    fawmf = frame[frame["method"] == "fawmf"]  # the records the figure draws (the latest per K)
    rules = sorted({str(rule or "projected") for rule in fawmf.get("weight_floor", pd.Series(dtype=object))})
    evidence = ("Test Pre@5 on cv fold 0, check per K: FAWMF above both others. " + "; ".join(cells)
                + f". FAWMF's weight floor in these fits: {'/'.join(rules) or 'n/a'}.")
    return Claim("k-sweep", quote, where, "not run (the sweep uses cv fold 0)", verdict(checks), evidence)


def claim_communities(store_root: Path) -> Claim:
    quote = ("Although the genre information of users and items is not used in model training, the latent "
             "correlations between users/items can be captured")
    where = "Case study, Figure 6"
    try:
        summary, _ = load_communities(store_root, FIGURE_DATASET)
    except FileNotFoundError:
        return Claim("communities", quote, where, UNTESTABLE, UNTESTABLE, "No communities case study in the store.")
    big = summary[summary["argmax_members"] > 0]
    under_25 = big.get("age_1", 0.0) + big.get("age_18", 0.0)  # ML-1M age groups "Under 18" and "18-24"
    evidence = (f"Interpretability is a judgement, not a number; see Figure 6. Measured on the ML-1M paper split: "
                f"{len(big)} of {len(summary)} communities hold users (by largest membership); their share of women "
                f"ranges {_f(big['female_share'].min(), '.2f')}-{_f(big['female_share'].max(), '.2f')} and their "
                f"share of users under 25 {_f(np.min(under_25), '.2f')}-{_f(np.max(under_25), '.2f')} "
                "(side information unused in training).")
    return Claim("communities", quote, where, UNTESTABLE, UNTESTABLE, evidence)


def claim_exposure_weighting(finals: list[dict[str, Any]]) -> Claim:
    frame = final_frame(finals)
    verdicts, lines = {}, []
    for protocol in ("paper", "cv"):
        checks = []
        sub = frame[frame["protocol"] == protocol] if not frame.empty else frame
        for dataset in sorted(set(sub["dataset"])) if not sub.empty else []:
            part = sub[sub["dataset"] == dataset]
            fawmf = part[part["method"] == "fawmf"].set_index("fold")["pre@5"]
            wmf = part[part["method"] == "wmf"].set_index("fold")["pre@5"]
            folds = sorted(set(fawmf.index) & set(wmf.index))
            if not folds:
                continue
            a, b = fawmf.loc[folds].to_numpy(), wmf.loc[folds].to_numpy()
            p = paired_ttest(a, b).pvalue if len(folds) >= 2 else float("nan")
            won = bool(a.mean() > b.mean() and (len(folds) < 2 or p < ALPHA))
            checks.append(won)
            lines.append(f"{protocol}: {_label(dataset)}: FAWMF {_f(a.mean())} vs WMF {_f(b.mean())} "
                         f"({_f(100 * (a.mean() / b.mean() - 1), '+.1f')}%, t-test p {_f(p, '.3g')})")
        verdicts[protocol] = verdict(checks)
    evidence = ("FAWMF against WMF (the same MF with a uniform confidence), both tuned on the same validation data, "
                f"test Pre@5; check per dataset: FAWMF ahead (and p < {ALPHA} over folds under cv). "
                + "; ".join(lines) + ".")
    return Claim("exposure-weighting", "demonstrating the effectiveness of adaptively assigning personalized confidence "
                 "weights", "Effect of the parameter K; Performance comparison (Q1)", verdicts["paper"],
                 verdicts["cv"], evidence)


def claim_exposure_recovery(store_root: Path) -> Claim:
    quote = "It will capture more precise exposure"
    where = "Introduction; the exposure-recovery experiment (synthetic data with known exposure)"
    frame = load_exposure_recovery(store_root)
    if frame.empty:
        return Claim("exposure-recovery", quote, where, UNTESTABLE, UNTESTABLE,
                     "No exposure-recovery experiment in the store (fawmf-bench run --experiment exposure-recovery).")
    means = frame.groupby(["density", "model"])[["auc", "spearman"]].mean()
    checks, cells = [], []
    for density in sorted(set(frame["density"]), reverse=True):
        pop = means.loc[(density, "popularity"), "auc"]
        for model in ("fawmf", "exmf"):
            if (density, model) in means.index:
                auc, rho = means.loc[(density, model)]
                if model == "fawmf":
                    checks.append(bool(auc > pop + RECOVERY_MARGIN))
                cells.append(f"density {density:g}: {model} AUC {_f(auc, '.3f')} / Spearman {_f(rho, '.3f')}")
        cells.append(f"density {density:g}: item popularity AUC {_f(pop, '.3f')}")
    seeds = frame["seed"].nunique()
    fits = "; ".join(f"{m}: " + ", ".join(f"{k} {v}" for k, v in sorted(p.items())) for m, p in sorted(RECOVERY_FITS.items()))
    evidence = (f"Synthetic data drawn from the exposure model, {seeds} seed(s) per density, fixed fits without tuning "
                f"({fits}); estimates ranked against "
                "the true exposure of a fixed sample of unobserved pairs (AUC against exposure drawn from its true "
                "posterior, Spearman against that posterior probability). Check per density: FAWMF's mean AUC above "
                f"item popularity's by > {RECOVERY_MARGIN:g}. " + "; ".join(cells) + ".")
    result = verdict(checks)
    return Claim("exposure-recovery", quote, where, result + " (synthetic data)", result + " (synthetic data)", evidence)


def claim_amazon_gap(t3: dict[tuple[str, str], pd.DataFrame], store_root: Path) -> Claim:
    """Not a claim of the paper: why FAWMF trails on the Amazon stand-in, measured."""
    dataset = "amazon-grocery-5core"
    quote = "(finding, not a claim of the paper) FAWMF trails on the sparse Amazon stand-in"
    where = "Table 3 (Amazon), our cv run"
    frame = t3.get((dataset, "cv"))
    if frame is None:
        return Claim("amazon-gap", quote, where, UNTESTABLE, UNTESTABLE, f"No {dataset} cv results in the store.")
    pre = frame[(frame["metric"] == "pre@5") & (frame["method"] != "Impv%")].set_index("method")["mean"]
    parts = [f"test Pre@5 FAWMF {_f(pre.get('fawmf', np.nan))}, WMF {_f(pre.get('wmf', np.nan))}, best "
             f"{pre.drop(labels='fawmf', errors='ignore').idxmax()} {_f(pre.drop(labels='fawmf', errors='ignore').max())}"]
    selection = store_root / dataset / "cv" / "fawmf" / "selection.json"
    if selection.is_file():
        chosen = json.loads(selection.read_text())
        by_eta: dict[float, float] = {}
        for point in chosen.get("grid", []):
            eta = float(point["params"].get("eta", np.nan))
            by_eta[eta] = max(by_eta.get(eta, -np.inf), float(point["validation"]["pre@5"]))
        parts.append("validation Pre@5 by eta (best over the other settings): "
                     + ", ".join(f"{eta:g}: {_f(v)}" for eta, v in sorted(by_eta.items()))
                     + f"; chosen eta {chosen['chosen'].get('eta')}, factor_reg {chosen['chosen'].get('factor_reg')}")
    for name in (dataset, *DIAGNOSIS_CONTRAST):
        for diagnosis in sorted((store_root / name / "diagnosis").glob("fawmf*.json")):
            parts.append(f"{name}: " + json.loads(diagnosis.read_text())["summary"])
    return Claim("amazon-gap", quote, where, "not run", "measured", "; ".join(parts) + ".")


# ------------------------------------------------------------------------- assembly and rendering


def audit(store_root: str | Path, tables: Sequence[Table], finals: list[dict[str, Any]],
          stats: dict[str, dict[str, Any]] | None = None, target: str = "fawmf") -> list[Claim]:
    """Every audited claim, in a fixed order (module docstring). ``tables``: the report's
    tables (Table 3's Impv% rows must be FAWMF's: with another ``target`` they are not used);
    ``stats``: dataset -> {users, items, positives}."""
    root = Path(store_root)
    t3 = _table3_frames(tables) if target == "fawmf" else {}
    builders: list[Callable[[], Claim]] = [
        lambda: claim_beats_every_baseline(t3),
        lambda: claim_impv(t3),
        lambda: claim_speedup(root, finals, stats or {}),
        lambda: claim_convergence(root),
        lambda: claim_k_sweep(root),
        lambda: claim_communities(root),
        lambda: claim_exposure_weighting(finals),
        lambda: claim_exposure_recovery(root),
        lambda: claim_amazon_gap(t3, root),
    ]
    return [build() for build in builders]


_INTRO = ("Each claim of Chen et al. (AAAI 2020), quoted with its place in the paper, and a verdict computed from the "
          "result store by `fawmf-bench report` (fawmf_bench/report/claims.py states the thresholds): under the paper's "
          "protocol (one random 80/20 split) and under 5-fold cross validation with every method tuned the same way. "
          "Stand-in datasets (amazon-grocery-5core for Amazon fine foods, douban-monti for Douban) are different data; "
          "claims about the full Douban and fine-food data are not testable here and are shown on the stand-ins.")


def floor_notes(finals: Iterable[dict[str, Any]]) -> list[str]:
    """Which weight-floor rule FAWMF's finals in the tables were fitted with, per (dataset,
    protocol): "on_read" (the authors') or "projected" (records from before the option)."""
    rules: dict[tuple[str, str], set[str]] = {}
    for record in finals:
        unit = record["unit"]
        if unit["method"] == "fawmf" and unit["stage"] == "final":
            rule = unit["params"].get("weight_floor", "projected")
            rules.setdefault((unit["dataset"], unit["protocol"]), set()).add(rule)
    if not rules:
        return []
    cells = ", ".join(f"{d} {p}: {'/'.join(sorted(r))}" for (d, p), r in sorted(rules.items()))
    return [f"FAWMF's exposure-weight floor in the stored finals used here (on_read: the authors' rule, "
            f"the default; projected: the earlier rule, not yet rerun): {cells}."]


def claims_markdown(claims: Sequence[Claim], notes: Sequence[str] = ()) -> str:
    """``results/CLAIMS.md``: a summary table, then each claim's evidence."""
    lines = ["# Claims audit", "", _INTRO, "", *(f"{n}\n" for n in notes),
             "| claim | where | paper protocol | 5-fold cv |", "|---|---|---|---|"]
    for c in claims:
        lines.append(f"| [{c.key}](#{c.key}) \"{c.quote}\" | {c.where} | {c.paper_verdict} | {c.cv_verdict} |")
    for c in claims:
        lines += ["", f"## {c.key}", "", f"> {c.quote} ({c.where})", "",
                  f"Paper protocol: **{c.paper_verdict}**. 5-fold cv: **{c.cv_verdict}**.", "", c.evidence]
    return "\n".join(lines) + "\n"


def claims_html(claims: Sequence[Claim], notes: Sequence[str] = ()) -> str:
    """The same audit as an HTML fragment for report.html (the body of its "Claims audit" section)."""
    e = inline
    rows = "".join(f"<tr><td>{e(c.quote)}</td><td>{e(c.where)}</td><td>{e(c.paper_verdict)}</td>"
                   f"<td>{e(c.cv_verdict)}</td><td>{e(c.evidence)}</td></tr>" for c in claims)
    return (f'<p>{e(_INTRO)}</p>' + "".join(f"<p>{e(n)}</p>" for n in notes)
            + '<div class="scroll" role="region" aria-label="claims audit" tabindex="0"><table class="wrap claims">'
            "<thead><tr><th>claim</th><th>where</th><th>paper protocol</th><th>5-fold cv</th><th>evidence</th></tr>"
            f"</thead><tbody>{rows}</tbody></table></div>")
