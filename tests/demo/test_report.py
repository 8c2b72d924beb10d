"""cartlens.report: the section-based HTML report and the cohort section (Table 1).

p-values and quartiles are checked against R (tests/reference/report_table1.R -> report_table1.json, run on
tests/reference/report_table1_input.csv): wilcox.test(exact = FALSE, correct = TRUE), chisq.test(correct =
FALSE), fisher.test, quantile(type = 7).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cartlens.report import Figure, Section, render_html, write_report
from cartlens.report.cohort import table1

REF = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="module")
def small():
    patients = pd.read_csv(REF / "report_table1_input.csv")
    return {"patients": patients}, json.loads((REF / "report_table1.json").read_text())


def _row(t1: pd.DataFrame, label: str) -> pd.Series:
    return t1.set_index("characteristic").loc[label]


def test_table1_p_values_match_r(small):
    tables, r = small
    t1 = table1(tables)
    assert _row(t1, "Age, years")["p"] == f"{r['age_p']:.3f}"
    assert _row(t1, "Baseline MTV, mL")["p"] == f"{r['mtv_p']:.3f}"
    assert _row(t1, "Prior lines (bridging excluded)")["p"] == f"{r['prior_lines_p']:.3f}"
    assert _row(t1, "Female")["p"] == f"{r['sex_fisher_p']:.3f}"          # sparse 2 x 2 -> Fisher
    assert _row(t1, "Product: axi-cel")["p"] == f"{r['product_chisq_p']:.3f}"
    assert _row(t1, "Ann Arbor stage III-IV")["p"] == f"{r['stage34_fisher_p']:.3f}"


def test_table1_quartiles_and_counts(small):
    tables, r = small
    t1 = table1(tables)
    q = r["age_quartiles_dev"]
    assert _row(t1, "Age, years")["development (n = 8)"] == f"{q[1]:.0f} ({q[0]:.0f}, {q[2]:.0f})"
    q = r["mtv_quartiles_all"]
    assert _row(t1, "Baseline MTV, mL")["all (n = 14)"] == f"{q[1]:.0f} ({q[0]:.0f}, {q[2]:.0f})"
    # hand count: 3 of 8 development patients are female; 2 of 6 validation
    assert _row(t1, "Female")["development (n = 8)"] == "3 (38 %)"
    assert _row(t1, "Female")["validation (n = 6)"] == "2 (33 %)"
    # ECOG >= 2: D03, D08 (development), V04 (validation)
    assert _row(t1, "ECOG >= 2")["all (n = 14)"] == "3 (21 %)"


def test_missing_values_show_denominators():
    patients = pd.DataFrame({"patient_id": ["a", "b", "c", "d"], "centre": "C1", "cohort": "development",
                             "age": [50, 60, 70, 80], "stage": [1, 2, 3, 4],
                             "primary_refractory": [True, None, False, True]})
    t1 = table1({"patients": patients})
    assert _row(t1, "Primary refractory")["development (n = 4)"] == "2/3 (67 %)"


def test_render_escapes_and_writes(tmp_path):
    frame = pd.DataFrame({"a": ["<script>alert(1)</script>", "x"], "b": [1.5, None]})
    fig = Figure("f1", "a <figure>", b"\x89PNG fake", svg="<svg/>")
    s = Section("My section", html_fragments=["<p class='ok'>trusted</p>"], tables={"t_one": frame},
                figures=[fig], notes=["note <b>escaped</b>"])
    html = render_html([s], title="T", label="synthetic demonstration data")
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "<p class='ok'>trusted</p>" in html and "note &lt;b&gt;escaped" in html
    assert "synthetic demonstration data" in html and 'id="my-section"' in html
    written = write_report(tmp_path, [s], title="T")
    assert (tmp_path / "report.html").is_file()
    assert pd.read_csv(tmp_path / "tables" / "t_one.csv")["a"].tolist() == ["<script>alert(1)</script>", "x"]
    assert (tmp_path / "figures" / "f1.png").read_bytes() == b"\x89PNG fake"
    assert written["figures"] == ["figures/f1.png", "figures/f1.svg"]


def test_duplicate_or_bad_table_names_rejected():
    a = Section("A", tables={"same": pd.DataFrame()})
    b = Section("B", tables={"same": pd.DataFrame()})
    with pytest.raises(ValueError, match="'same' is used twice"):
        render_html([a, b], title="T")
    with pytest.raises(ValueError, match="must match"):
        render_html([Section("C", tables={"../evil": pd.DataFrame()})], title="T")


def test_published_vs_generated_table():
    from cartlens.report.cohort import published_vs_generated
    patients = pd.DataFrame({"patient_id": ["a", "b", "c", "d"], "centre": "C1", "cohort": "development",
                             "age": [50, 60, 70, 80], "sex": ["F", "M", "M", "M"], "stage": [1, 2, 3, 4]})
    table = published_vs_generated({"patients": patients},
                                   {"development": {"age": [55, 65, 75], "female": 0.3}}).set_index("characteristic")
    # type-7 quartiles of 50, 60, 70, 80 by hand: 57.5, 65, 72.5; 1 of 4 female
    assert table.loc["Age, years", "published"] == "65 (55, 75)"
    assert table.loc["Age, years", "generated"] == "65 (57.5, 72.5)"
    assert table.loc["Female", "generated"] == "25 %" and table.loc["Female", "published"] == "30 %"


def test_km_figure_carries_the_label():
    from cartlens.report.cohort import km_figure
    patients = pd.DataFrame({"cohort": ["development"] * 4, "pfs_days": [10, 20, 30, 40], "pfs_event": [1, 0, 1, 1],
                             "os_days": [15, 25, 35, 45], "os_event": [0, 1, 0, 1]})
    fig = km_figure(patients, label="synthetic demonstration data")
    assert fig.caption.endswith("synthetic demonstration data")
    assert "synthetic demonstration data" in fig.svg and "Overall survival" in fig.svg
    assert fig.png.startswith(b"\x89PNG")
