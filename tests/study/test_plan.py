"""Study plans: errors name the key; ``cartlens study run`` exit codes; sections that cannot run say why."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from cartlens.cli import app
from cartlens.study.config import PlanError, load_plan, plan_from_dict
from cartlens.study.pipeline import demo_plan, run_study

runner = CliRunner()


def test_plan_errors_name_every_bad_key(tmp_path):
    bad = tmp_path / "plan.toml"
    bad.write_text('[data]\nsource = "data"\n\n[car_impi]\nknot = -3\nbootstraps = 10\n\n'
                   '[response]\ncriteria = ["lugano", "who"]\n\n[sections]\nfactor = false\n', encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(bad)
    text = str(info.value)
    for key in ("car_impi.knot", "car_impi.bootstraps: unknown key", "response.criteria.1", "sections.factor"):
        assert key in text, key
    assert all(line.startswith("plan.toml: ") for line in text.splitlines())


def test_plan_needs_exactly_one_data_source():
    with pytest.raises(PlanError, match="data"):
        plan_from_dict({"data": {"source": "a", "db": "sqlite://"}})
    with pytest.raises(PlanError, match="data: Field required"):
        plan_from_dict({})


def test_demo_plan_is_valid_and_uses_the_stand_in_mixture():
    plan = demo_plan(5)
    assert plan.study.seed == 5 and plan.data.builtin == "demo"
    assert plan.strata.inflamix == "stand-in" and plan.car_impi.bootstrap == 200
    assert plan.sections.enabled() == ["cohort", "response", "car_impi", "toxicity", "strata", "factors",
                                       "landmarks", "failure"]


def test_cli_rejects_bad_plan_with_exit_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[data]\nsource = "x"\n[landmarks]\nday = "thirty"\n', encoding="utf-8")
    res = runner.invoke(app, ["study", "run", str(bad), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2
    assert "bad.toml: landmarks.day:" in res.output
    missing = runner.invoke(app, ["study", "run", str(tmp_path / "nope.toml")])
    assert missing.exit_code == 2 and "no such file" in missing.output


_TINY: dict[str, pd.DataFrame] = {}


def _tiny_tables() -> dict[str, pd.DataFrame]:
    """Patients and labs of 70 demo patients (the generator needs ~150 development patients for its sub-study)."""
    if not _TINY:
        from cartlens.demo import generate
        from cartlens.io import validate_tables

        tables = validate_tables(generate(11, n_dev=160, n_val=80).tables).tables
        keep = pd.concat([tables["patients"].iloc[:40], tables["patients"].iloc[-30:]])
        _TINY["patients"] = keep.reset_index(drop=True)
        _TINY["labs"] = tables["labs"].merge(keep[["centre", "patient_id"]])
    return dict(_TINY)


def test_cli_runs_a_plan_on_a_data_directory(tmp_path):
    from cartlens.io import write_data_dir

    write_data_dir(_tiny_tables(), tmp_path / "data")
    plan = tmp_path / "plan.toml"
    plan.write_text('[study]\ntitle = "tiny"\n[data]\nsource = "data"\n[sections]\nresponse = false\n'
                    'car_impi = false\ntoxicity = false\nstrata = false\nfactors = false\nlandmarks = false\n'
                    'failure = false\n', encoding="utf-8")
    out = tmp_path / "out"
    res = runner.invoke(app, ["study", "run", str(plan), "--out", str(out), "--format", "json", "--no-progress"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    assert body["sections"] == {"cohort": {"status": "ok"}}
    assert (out / "report.html").is_file() and (out / "figures" / "cohort_km_pfs_os.svg").is_file()
    assert json.loads((out / "run.json").read_text())["plan"]["study"]["title"] == "tiny"


def test_sections_without_their_data_say_why(tmp_path):
    tables = _tiny_tables()                       # no scans, lesions, toxicity
    plan = plan_from_dict({"data": {"builtin": "demo"}, "study": {"svg": False},
                           "sections": {"car_impi": False, "strata": False, "factors": False}})
    res = run_study(plan, out_dir=tmp_path, tables=tables, progress=False)
    status = {k: v.status for k, v in res.sections.items()}
    assert status["response"] == status["failure"] == status["toxicity"] == status["landmarks"] == "skipped"
    assert status["cohort"] == "ok" and "car_impi" not in status
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Not run: no scans/lesions tables" in html and "Not run: no toxicity table" in html


def test_missing_cohort_column_runs_as_development_with_a_warning(tmp_path):
    tables = _tiny_tables()
    tables["patients"] = tables["patients"].drop(columns="cohort")
    only_cohort = {k: k == "cohort" for k in ("cohort", "response", "car_impi", "toxicity", "strata", "factors",
                                              "landmarks", "failure")}
    plan = plan_from_dict({"data": {"builtin": "demo"}, "study": {"svg": False}, "sections": only_cohort})
    res = run_study(plan, out_dir=tmp_path, tables=tables, progress=False)
    assert res.sections["cohort"].status == "ok"
    (warning,) = res.record["warnings"]                  # names the column and the cohort used
    assert warning.startswith("patients.cohort:") and "'development'" in warning
    assert "every patient was put in the development cohort" in (tmp_path / "report.html").read_text()


def test_hr_text_for_a_group_without_events_is_not_estimable():
    from cartlens.study.common import fmt_hr

    assert fmt_hr(2.1, 1.4, 3.15) == "2.10 (1.40-3.15)"
    assert fmt_hr(None, None, None) == "not estimable"
    assert fmt_hr(float("inf"), 0.5, float("inf")) == "not estimable"
