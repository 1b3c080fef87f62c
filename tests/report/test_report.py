"""The report: builds on a tiny simulated ladder and on the shared Pythia data, its tables
equal the CLI's, it is self-contained, and it never overwrites files it did not write."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lm_eval_scaling.analysis.options import FitOptions
from lm_eval_scaling.cli import main
from lm_eval_scaling.errors import InputError
from lm_eval_scaling.report import (
    REPORT_GENERATOR,
    ReportOptions,
    auto_ks,
    build_report,
    compute_report,
    default_input,
    dense_ks,
    load_report_inputs,
    write_report,
)

ROOT = Path(__file__).resolve().parents[2]
SIM = ROOT / "examples" / "simulated"

FAST = ["--k", "1,10", "--bootstrap", "50", "--seed", "3", "--dpi", "72", "--no-progress"]


def _figures(out: Path) -> dict[int, dict]:
    manifest = json.loads((out / "report.json").read_text())
    return {f["number"]: f for f in manifest["figures"]}


@pytest.fixture(scope="module")
def sim_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One report on the simulated ladder, through the CLI, shared by several tests."""
    out = tmp_path_factory.mktemp("sim") / "report"
    rc = main(["report", str(SIM / "counts.csv"), "--ladder", str(SIM / "ladder.csv"),
               "--law", "compute,params_tokens", *FAST, "-o", str(out)])
    assert rc == 0
    return out


# --------------------------------------------------------------------------- content


def test_report_files_and_manifest(sim_report: Path) -> None:
    manifest = json.loads((sim_report / "report.json").read_text())
    assert manifest["generator"] == REPORT_GENERATOR
    assert manifest["ks"] == [1, 10]
    for rel in manifest["files"]:
        assert (sim_report / rel).is_file(), rel
    for name in ("index.html", "passk.csv", "points.csv", "fits.json", "fit_parameters.csv",
                 "envelope.csv", "envelope_summary.csv", "envelope_budgets.csv",
                 "backtest.csv", "backtest_summary.csv"):
        assert name in manifest["files"]
    figs = _figures(sim_report)
    assert sorted(figs) == list(range(1, 9))
    drawn = {n for n, f in figs.items() if not f["skipped"]}
    # no gold table: figure 4 is skipped, with its reason; every other figure is drawn
    assert 4 not in drawn and "gold" in figs[4]["skipped"]
    assert {1, 2, 3, 7, 8} <= drawn


def test_report_opens_with_a_verdict_glossary_and_sensitivity(sim_report: Path,
                                                              tmp_path: Path) -> None:
    page = (sim_report / "index.html").read_text()
    verdict, glossary = page.index('id="verdict"'), page.index('id="glossary"')
    assert verdict < page.index('id="input"') < glossary < page.index('id="figures"')
    # one sentence per law: best error against the baselines, horizons, identification
    section = page[verdict:page.index('id="input"')]
    for law in ("compute law", "params_tokens law"):
        assert law in section
    assert section.count("beats persistence") == 2 and section.count("error horizon") == 2
    for column in ("identified", "beats_persistence", "stable_horizon_oom", "_pivot"):
        assert column in page[glossary:page.index('id="figures"')]
    # the sensitivity table is the one of `fit --sensitivity`
    assert 'id="sensitivity"' in page and (sim_report / "sensitivity.csv").is_file()
    assert main(["fit", str(SIM / "counts.csv"), "--ladder", str(SIM / "ladder.csv"),
                 "--law", "compute,params_tokens", "--k", "1,10", "--sensitivity",
                 "-o", str(tmp_path / "fits.json")]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(sim_report / "sensitivity.csv"),
                                  pd.read_csv(tmp_path / "fits_sensitivity.csv"))


def test_report_html_is_self_contained(sim_report: Path) -> None:
    page = (sim_report / "index.html").read_text()
    figs = _figures(sim_report)
    drawn = [n for n, f in figs.items() if not f["skipped"]]
    assert page.count('src="data:image/png;base64,') == len(drawn)
    # nothing fetched: every src is embedded, every link is relative to the report directory
    assert not re.search(r'src="(?!data:)', page)
    for href in re.findall(r'href="([^"#][^"]*)"', page):
        assert not re.match(r"[a-z]+://", href)
        assert (sim_report / href).is_file(), href
    assert "Not drawn" in page and "gold" in page  # the skipped figure says why
    for fig in figs.values():
        assert fig["title"] in page


class _TagBalance(HTMLParser):
    VOID = frozenset({"meta", "img", "br", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def test_report_html_is_well_formed(sim_report: Path) -> None:
    checker = _TagBalance()
    checker.feed((sim_report / "index.html").read_text())
    assert not checker.errors, checker.errors[:5]
    assert checker.stack == []


def test_report_passk_equals_the_passk_command(sim_report: Path, tmp_path: Path) -> None:
    cli = tmp_path / "passk.csv"
    assert main(["passk", str(SIM / "counts.csv"), "--k", "1,10", "--bootstrap", "50",
                 "--seed", "3", "-o", str(cli)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(sim_report / "passk.csv"), pd.read_csv(cli))


def test_report_fits_equal_the_fit_command(sim_report: Path, tmp_path: Path) -> None:
    cli = tmp_path / "fits.json"
    assert main(["fit", str(SIM / "counts.csv"), "--ladder", str(SIM / "ladder.csv"),
                 "--law", "compute,params_tokens", "--k", "1,10", "-o", str(cli)]) == 0
    assert json.loads((sim_report / "fits.json").read_text()) == json.loads(cli.read_text())
    params = pd.read_csv(sim_report / "fit_parameters.csv")
    for fit in json.loads(cli.read_text()):
        for name, value in fit["params"].items():
            row = params[(params["law"] == fit["law"]) & (params["k"] == fit["k"])
                         & (params["parameter"] == name)]
            assert row["value"].item() == pytest.approx(value, rel=1e-12)


def test_report_envelope_equals_the_envelope_command(sim_report: Path, tmp_path: Path) -> None:
    cli = tmp_path / "envelope.csv"
    assert main(["envelope", str(SIM / "counts.csv"), "--ladder", str(SIM / "ladder.csv"),
                 "--k", "1,10", "-o", str(cli)]) == 0
    for name in ("envelope.csv", "envelope_summary.csv", "envelope_budgets.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(sim_report / name),
                                      pd.read_csv(tmp_path / name))


def test_report_envelope_agrees_with_its_fits(sim_report: Path) -> None:
    fits = {f["k"]: f for f in json.loads((sim_report / "fits.json").read_text())
            if f["law"] == "params_tokens"}
    summary = pd.read_csv(sim_report / "envelope_summary.csv").set_index("k")
    for k, row in summary.iterrows():
        p = fits[k]["params"]
        # alpha of the envelope (SPEC 5) written out independently of compute_optimal
        assert row["envelope_alpha"] == pytest.approx(p["beta"] * p["gamma"]
                                                      / (p["beta"] + p["gamma"]), rel=1e-9)
    per_ckpt = pd.read_csv(sim_report / "envelope.csv")
    assert (per_ckpt["penalty"] >= 1.0).all()
    assert (per_ckpt["effective_compute"] <= per_ckpt["compute"] * (1 + 1e-12)).all()


def test_report_backtest_equals_the_backtest_command(sim_report: Path, tmp_path: Path) -> None:
    cli = tmp_path / "backtest.csv"
    assert main(["backtest", str(SIM / "counts.csv"), "--ladder", str(SIM / "ladder.csv"),
                 "--law", "compute,params_tokens", "--k", "1,10", "-o", str(cli)]) == 0
    for name in ("backtest.csv", "backtest_summary.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(sim_report / name),
                                      pd.read_csv(tmp_path / name))


def test_report_points_carry_the_passk_cis(sim_report: Path) -> None:
    points = pd.read_csv(sim_report / "points.csv", keep_default_na=False, na_values=[""])
    passk = pd.read_csv(sim_report / "passk.csv", keep_default_na=False, na_values=[""])
    merged = points.merge(passk, on=["checkpoint", "k"], suffixes=("", "_passk"))
    assert len(merged) == len(points) == len(passk)
    np.testing.assert_allclose(merged["pass_at_k"], merged["pass_at_k_passk"], rtol=1e-12)
    np.testing.assert_allclose(merged["neg_log_ci_low"], merged["neg_log_ci_low_passk"])


# --------------------------------------------------------------------------- inputs


def test_default_input_prefers_the_tiny_ladder(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    from lm_eval_scaling.report import compute as report

    tiny, sim = tmp_path / "tiny", tmp_path / "sim"
    for d in (tiny, sim):
        d.mkdir()
        for name in ("counts.csv", "ladder.csv"):
            (d / name).write_text("x\n")
    (tiny / "gold.csv").write_text("x\n")
    monkeypatch.setattr(report, "_default_candidates", lambda: [("tiny", tiny), ("sim", sim)])
    assert default_input().name == "tiny" and default_input().gold == tiny / "gold.csv"
    (tiny / "ladder.csv").unlink()  # incomplete: falls back
    fallback = default_input()
    assert fallback.name == "sim" and fallback.gold is None
    monkeypatch.setattr(report, "_default_candidates", lambda: [("none", tmp_path / "absent")])
    with pytest.raises(InputError, match="no built-in default input"):
        default_input()


def test_default_input_exists_in_the_checkout() -> None:
    d = default_input()
    assert d.name == "tiny_ladder"
    assert d.counts.is_file() and d.ladder.is_file() and d.gold is not None and d.gold.is_file()


def test_harness_directories_give_counts_and_gold(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    """A run directory is read once through collect; its gold table is used when no
    --gold is given (collect itself is tested in test_collect.py)."""
    from lm_eval_scaling import collect

    counts = pd.read_csv(SIM / "counts.csv")
    gold = _sim_gold(drop_largest=False)
    calls = []

    def fake(run_dirs, **kw):
        calls.append([str(d) for d in run_dirs])
        from lm_eval_scaling.tables.schema import read_counts, read_gold

        return collect.CollectResult(counts=read_counts(counts), gold=read_gold(gold),
                                     runs=pd.DataFrame())

    monkeypatch.setattr(collect, "collect_tables", fake)
    run = tmp_path / "run"
    run.mkdir()
    inputs = load_report_inputs([run], ladder=SIM / "ladder.csv")
    assert calls == [[str(run)]]
    assert len(inputs.counts) == len(counts)
    assert inputs.gold is not None and len(inputs.gold) == len(gold)
    assert "harness" in inputs.sources["gold"]
    explicit = load_report_inputs([run], ladder=SIM / "ladder.csv", gold=gold.head(20))
    assert len(explicit.gold) == 20  # an explicit --gold wins


def test_ladder_without_input_is_refused() -> None:
    with pytest.raises(InputError, match="without INPUT"):
        load_report_inputs([], ladder=SIM / "ladder.csv")


def test_auto_and_dense_ks() -> None:
    counts = pd.DataFrame({"model": "m", "revision": "", "task": "", "problem_id": ["0", "1"],
                           "num_samples": [64, 64], "num_correct": [1, 2]})
    assert auto_ks(counts) == (1, 10)
    grid = dense_ks(counts)
    assert grid[0] == 1 and grid[-1] == 64 and grid == sorted(set(grid))


def test_options_are_validated() -> None:
    with pytest.raises(InputError):
        ReportOptions(ks=(0,))
    with pytest.raises(InputError):
        ReportOptions(figure_formats=("jpeg",))  # type: ignore[arg-type]
    with pytest.raises(InputError):
        ReportOptions(n_boot=-1)


def test_gold_law_without_gold_is_an_error_only_when_asked_for() -> None:
    inputs = load_report_inputs([SIM / "counts.csv"], ladder=SIM / "ladder.csv")
    with pytest.raises(InputError, match="gold"):
        compute_report(inputs, ReportOptions(ks=(1,), laws=("gold",), n_boot=0, backtest=False))


def _sim_gold(drop_largest: bool) -> pd.DataFrame:
    """A gold table for the simulated ladder: -log p falls with compute (made up, monotone)."""
    ladder = pd.read_csv(SIM / "ladder.csv")
    compute = 6.0 * ladder["parameters"] * ladder["tokens"]
    if drop_largest:
        ladder = ladder[compute < compute.max()]
        compute = compute[compute < compute.max()]
    rows = [{"model": m, "revision": r, "task": "simulated", "problem_id": str(i),
             "gold_logprob": -(5.0 + 400.0 * c ** -0.1) * (1 + 0.01 * i)}
            for m, r, c in zip(ladder["model"], ladder["revision"], compute) for i in range(20)]
    return pd.DataFrame(rows)


def test_gold_missing_for_the_target_skips_only_the_gold_backtest() -> None:
    inputs = load_report_inputs([SIM / "counts.csv"], ladder=SIM / "ladder.csv",
                                gold=_sim_gold(drop_largest=True))
    results = compute_report(inputs, ReportOptions(ks=(1,), n_boot=0))
    assert {f.law for f in results.fits} == {"compute", "params_tokens", "gold"}
    assert results.backtest is not None
    assert set(results.backtest.rows["law"]) == {"compute", "params_tokens", "persistence", "trend"}
    assert any(n.startswith("The gold law is not backtested") for n in results.notes)


def test_passk_only_report_without_ladder(tmp_path: Path) -> None:
    inputs = load_report_inputs([SIM / "counts.csv"])
    results = compute_report(inputs, ReportOptions(ks=(1, 10), n_boot=20, dpi=72))
    assert results.points is None and not results.fits and results.backtest is None
    assert any("No ladder" in n for n in results.notes)
    write_report(results, tmp_path / "r")
    figs = _figures(tmp_path / "r")
    assert [n for n, f in figs.items() if not f["skipped"]] == [8]
    assert all(figs[n]["skipped"] for n in range(1, 8))


def test_inputs_are_not_mutated() -> None:
    inputs = load_report_inputs([SIM / "counts.csv"], ladder=SIM / "ladder.csv")
    before = inputs.counts.copy(), inputs.ladder.copy()
    compute_report(inputs, ReportOptions(ks=(1,), laws=("compute",), n_boot=10, backtest=False))
    pd.testing.assert_frame_equal(inputs.counts, before[0])
    pd.testing.assert_frame_equal(inputs.ladder, before[1])


# --------------------------------------------------------------------------- overwriting


def _small(out: Path, **kw) -> Path:
    return build_report([SIM / "counts.csv"], out, ladder=SIM / "ladder.csv",
                        options=ReportOptions(ks=(1,), laws=("compute",), n_boot=10,
                                              backtest=False, dpi=72), **kw)


def test_refuses_a_foreign_non_empty_directory(tmp_path: Path, capsys) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(InputError, match="not a previous report"):
        _small(out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    rc = main(["report", str(SIM / "counts.csv"), "--ladder", str(SIM / "ladder.csv"),
               "--k", "1", "--law", "compute", "--no-backtest", "-o", str(out)])
    assert rc == 2 and "--force" in capsys.readouterr().err
    _small(out, force=True)  # --force writes beside the user's file, never deletes it
    assert (out / "notes.txt").read_text() == "precious"
    assert (out / "index.html").is_file()


def test_rewrites_a_previous_report_and_removes_only_its_stale_files(tmp_path: Path) -> None:
    out = tmp_path / "r"
    build_report([SIM / "counts.csv"], out, ladder=SIM / "ladder.csv",
                 options=ReportOptions(ks=(1,), laws=("compute", "params_tokens"), n_boot=10,
                                       backtest=False, dpi=72))
    assert (out / "figures" / "07_envelope.png").is_file()
    (out / "figures" / "my_annotations.txt").write_text("keep me")
    _small(out)  # compute law only: no envelope this time
    assert not (out / "figures" / "07_envelope.png").exists()
    assert not (out / "envelope.csv").exists()
    assert (out / "figures" / "my_annotations.txt").read_text() == "keep me"
    assert (out / "figures" / "01_passk_vs_compute.png").is_file()


def test_extra_figure_formats_are_written_and_linked(tmp_path: Path) -> None:
    out = tmp_path / "r"
    build_report([SIM / "counts.csv"], out, ladder=SIM / "ladder.csv",
                 options=ReportOptions(ks=(1,), laws=("compute",), n_boot=0, backtest=False,
                                       dpi=72, figure_formats=("png", "svg")))
    figs = _figures(out)
    drawn = [f for f in figs.values() if not f["skipped"]]
    assert drawn
    page = (out / "index.html").read_text()
    for f in drawn:
        assert {Path(p).suffix for p in f["files"]} == {".png", ".svg"}
        for p in f["files"]:
            assert (out / p).read_bytes()[:5] in (b"\x89PNG\r", b"<?xml")
            assert f'href="{p}"' in page


def test_output_path_that_is_a_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        _small(f)


# --------------------------------------------------------------------------- real data


@pytest.mark.slow
def test_report_on_pythia_with_gold_and_backtest(tmp_path: Path, pythia_dir: Path) -> None:
    """The full report on the shared Pythia data: every figure drawn, no empty panel, no
    overlapping text; the paper's qualitative findings; the files written."""
    from lm_eval_scaling.report._figures import build_figures
    from tests.support import assert_no_empty_panel, assert_no_text_overlap

    inputs = load_report_inputs([pythia_dir / "counts.csv"], ladder=pythia_dir / "ladder.csv",
                                gold=pythia_dir / "gold.csv")
    results = compute_report(inputs, ReportOptions(ks=(1, 10, 100, 1000), exclude=("*_2M",),
                                                   n_boot=20, dpi=72))
    for number, _name, _title, built in build_figures(results):
        assert not isinstance(built, str), f"figure {number} skipped: {built}"
        fig, caption = built
        assert caption
        assert_no_empty_panel(fig)
        assert_no_text_overlap(fig)

    alpha = {f.k: f.params["alpha"] for f in results.fits if f.law == "compute"}
    assert 0.05 < alpha[1] < alpha[100] < alpha[1000] < 0.6  # the paper: alpha rises with k
    assert results.backtest is not None and results.backtest.target == "Pythia_12B_300B"
    from lm_eval_scaling.analysis.backtest import BASELINES

    assert set(results.backtest.rows["law"]) == {"compute", "params_tokens", "gold", *BASELINES}
    # the verdict says what the audit found: persistence beats the compute law
    summary = results.backtest.summary().set_index(["target", "law", "k"])
    assert summary.loc[("Pythia_12B_300B", "compute", 10), "beats_persistence"] is False

    out = tmp_path / "pythia"
    write_report(results, out)
    assert all(not f["skipped"] for f in _figures(out).values())
    assert len(pd.read_csv(out / "gold_summary.csv")) == 9
    fits = json.loads((out / "fits.json").read_text())
    assert {f["law"] for f in fits} == {"compute", "params_tokens", "gold"}
    page = (out / "index.html").read_text()
    assert "Pythia_12B_300B" in page  # the backtest target is named
    assert 'id="verdict"' in page and "not identified" in page.lower()
    assert "fewer samples than k" in page  # the note on k = 1000 with adaptive sampling


def test_far_ridge_is_noted() -> None:
    from lm_eval_scaling.analysis.envelope import envelope
    from lm_eval_scaling.report.compute import _note_far_ridge

    points = pd.DataFrame({"parameters": [1e6, 1e7], "compute": [1e18, 1e19],
                           "user_excluded": [False, False]})
    env = envelope(E0=0.1, N0=100.0, beta=0.3, D0=300.0, gamma=0.3)
    c_max = 1e19
    notes: list[str] = []
    _note_far_ridge(env, 1, points, notes)
    inside = 1e6 / 10 <= env.n_opt(c_max) <= 1e7 * 10
    assert (not notes) == inside
    far = envelope(E0=0.1, N0=1e-30, beta=0.3, D0=300.0, gamma=0.3)  # N barely matters
    assert far.n_opt(c_max) < 1e5
    _note_far_ridge(far, 10, points, notes)
    assert notes and notes[-1].startswith("At k=10")


def test_a_report_run_computes_the_points_once_and_each_full_fit_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Spies on the points table and on every fit: one points table per run, one fit per
    (law, k) on the full ladder (the backtest and the envelope reuse them), and the
    envelope tables are those of the fits."""
    import lm_eval_scaling.analysis.backtest as backtest_module
    import lm_eval_scaling.analysis.fits as fits_module
    import lm_eval_scaling.analysis.points as points_module

    calls: dict[str, list] = {"points": [], "full": [], "capped": []}
    real_points, real_fit = points_module.passk_points, fits_module.fit_law

    def points_spy(*args, **kwargs):
        calls["points"].append(kwargs.get("ks"))
        return real_points(*args, **kwargs)

    def fit_spy(where):
        def spy(law, y, **kwargs):
            calls[where].append((law, kwargs.get("k"), len(y)))
            return real_fit(law, y, **kwargs)
        return spy

    monkeypatch.setattr(points_module, "passk_points", points_spy)
    monkeypatch.setattr(fits_module, "fit_law", fit_spy("full"))
    monkeypatch.setattr(backtest_module, "fit_law", fit_spy("capped"))
    inputs = load_report_inputs([SIM / "counts.csv"], ladder=SIM / "ladder.csv")
    # the sensitivity table refits under other choices by design: off here
    results = compute_report(inputs, ReportOptions(ks=(1, 10), laws=("compute", "params_tokens"),
                                                   n_boot=0, fit=FitOptions(n_jobs=1),
                                                   sensitivity=False))
    assert len(calls["points"]) == 1
    full = [(law, k) for law, k, _ in calls["full"]]
    assert sorted(full) == sorted({(f.law, f.k) for f in results.fits})
    assert len(full) == 4
    n_full = {(f.law, f.k): f.n_points for f in results.fits}
    assert calls["capped"] and all(n < n_full[(law, k)] for law, k, n in calls["capped"])
    assert {(f.law, f.k) for f in results.backtest.full_fits} == set(full)
    assert all(any(b is f for f in results.fits) for b in results.backtest.full_fits)
    summary = results.envelope_tables["summary"]
    for fit in results.fits:
        if fit.law == "params_tokens":
            row = summary[summary["k"] == fit.k].iloc[0]
            assert [row[f"pt_{n}"] for n in fit.params] == list(fit.params.values())


def test_verdict_names_the_ks_a_law_beats_a_baseline_at_in_plain_words() -> None:
    import pandas as pd

    from lm_eval_scaling.report._html import _at_ks, _span

    assert _at_ks([], [1, 10]) == "at no k (1, 10)"
    assert _at_ks([1, 10], [1, 10]) == "at every k (1, 10)"
    assert _at_ks([10], [1, 10]) == "at k = 10 (of 1, 10)"
    assert _span(pd.Series([0.51, 0.51])) == "0.51"
    assert _span(pd.Series([0.15, 0.6])) == "0.15–0.6"


def test_the_options_table_names_the_estimator_and_what_a_pooled_backtest_refits() -> None:
    from lm_eval_scaling.report._html import _estimator_description

    assert _estimator_description(FitOptions(policy="drop_k"), True) == \
        "unbiased; problems with fewer samples than k: drop_k"
    text = _estimator_description(FitOptions(estimator="pooled", hierarchical=True), True)
    assert "all checkpoints of a task" in text and "up to each cap" in text
    assert "redraw each problem's correct count" in text
    text = _estimator_description(FitOptions(estimator="pooled", pooled_refit="target"), True)
    assert "cheaper than each target" in text
    assert "backtest" not in _estimator_description(FitOptions(estimator="pooled"), False)
    assert "each checkpoint" in _estimator_description(FitOptions(estimator="beta_binomial"), True)
