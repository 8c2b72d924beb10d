"""The store: migrations, atomic idempotent audited import, centre scoping, lossless round trip."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from cartlens.io import InputError, read_data_dir, write_data_dir
from cartlens.store import Store
from cartlens.store.engine import StoreError, _alembic_config
from cartlens.store.models import metadata

from .helpers import DATA, copy_dir, write_files


def _contents(store: Store) -> dict[str, pd.DataFrame]:
    """Everything a user can see: canonical tables, audit and import records."""
    out = dict(store.load_tables())
    out["audit"] = store.audit_log()
    out["imports"] = store.imports()
    return out


def _assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    assert a.keys() == b.keys()
    for name, frame in a.items():
        pd.testing.assert_frame_equal(frame, b[name], obj=name)


def test_migrated_schema_equals_models(store: Store) -> None:
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    # tables of other areas (e.g. web users, added by their own revisions) are not in this metadata
    diffs = [d for d in diffs if not (isinstance(d, tuple) and d[0] == "remove_table")]
    assert diffs == []           # a model change without a migration fails here
    scripts = ScriptDirectory.from_config(_alembic_config())
    head = scripts.get_current_head()
    assert [r.revision for r in scripts.walk_revisions()][-1] == "0001"   # one chain: 0001 initial, 0002 web...
    assert store.revision() == head
    store.migrate()              # idempotent
    assert store.revision() == head


def test_unmigrated_database_is_refused(store_url: str) -> None:
    fresh = Store(store_url)
    try:
        with pytest.raises(StoreError, match="run Store.migrate"):
            fresh.import_batch(read_data_dir(DATA / "good"))
    finally:
        fresh.dispose()


def test_import_then_load_equals_batch(store: Store) -> None:
    batch = read_data_dir(DATA / "good")
    summary = store.import_batch(batch)
    # by hand from tests/foundation/data/good: 2 patients, 5 labs, 2 scans, 2 lesions, 2 toxicity rows
    assert summary.inserted == {"patients": 2, "toxicity": 2, "labs": 5, "scans": 2, "lesions": 2}
    loaded = store.load_tables()
    for name, table in batch.tables.items():
        pd.testing.assert_frame_equal(loaded[name], table, obj=name)
    assert loaded["biomarkers"].empty
    assert store.patients_count() == 2 and store.centres() == ["A"]


def test_source_sha256_is_recorded(store: Store) -> None:
    store.import_batch(read_data_dir(DATA / "good"))
    files = store.imports().set_index("file_name")["sha256"].to_dict()
    expected = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (DATA / "good").glob("*.csv")}
    assert files == expected


def test_reimport_is_a_no_op(store: Store) -> None:
    batch = read_data_dir(DATA / "good")
    store.import_batch(batch)
    before = _contents(store)
    summary = store.import_batch(batch)
    assert not summary.changed and summary.import_id is None
    assert summary.unchanged == {"patients": 2, "toxicity": 2, "labs": 5, "scans": 2, "lesions": 2}
    _assert_same(before, _contents(store))


def test_corrected_file_updates_only_changed_rows_and_audits(store: Store, tmp_path: Path) -> None:
    root = copy_dir("good", tmp_path)
    store.import_batch(read_data_dir(root))
    with store.engine.connect() as conn:
        ids_before = dict(conn.execute(sa.text("SELECT lesion_id || scan_id, id FROM lesions")).all())
    lesions = (root / "lesions.csv").read_text().replace("P001,A,S1,L1,cervical,true,,measured,1.2,1.0",
                                                         "P001,A,S1,L1,cervical,true,,measured,1.4,1.0")
    (root / "lesions.csv").write_text(lesions)
    labs = (root / "labs.csv").read_text().replace("P001,A,-5,crp,45,mg/L,5", "P001,A,-5,crp,54,mg/L,5")
    (root / "labs.csv").write_text(labs)
    n_audit = len(store.audit_log())
    summary = store.import_batch(read_data_dir(root), user="reviewer", reason="central review")
    assert summary.updated == {"patients": 0, "toxicity": 0, "labs": 1, "scans": 0, "lesions": 1}
    assert sum(summary.inserted.values()) == 0 and sum(summary.deleted.values()) == 0
    new_audit = store.audit_log().iloc[n_audit:]
    got = {(r.table_name, r.column_name, r.old_value, r.new_value, r.user, r.reason)
           for r in new_audit.itertuples()}
    # CRP 45 mg/L -> 4.5 mg/dL, corrected 54 mg/L -> 5.4 mg/dL (x 0.1, float repr of 54 * 0.1)
    assert got == {("lesions", "ldi_cm", "1.2", "1.4", "reviewer", "central review"),
                   ("labs", "value", "4.5", json.dumps(54 * 0.1), "reviewer", "central review")}
    assert json.loads(new_audit[new_audit.table_name == "lesions"].row_key.iloc[0]) == {
        "centre": "A", "patient_id": "P001", "scan_id": "S1", "lesion_id": "L1"}
    with store.engine.connect() as conn:
        assert dict(conn.execute(sa.text("SELECT lesion_id || scan_id, id FROM lesions")).all()) == ids_before
    assert store.load_tables()["lesions"]["ldi_cm"].tolist() == [3.2, 1.4]


def test_row_missing_from_corrected_file_is_deleted_and_audited(store: Store, tmp_path: Path) -> None:
    root = copy_dir("good", tmp_path)
    store.import_batch(read_data_dir(root))
    labs = [line for line in (root / "labs.csv").read_text().splitlines() if ",hb," not in line]
    (root / "labs.csv").write_text("\n".join(labs) + "\n")
    summary = store.import_batch(read_data_dir(root))
    assert summary.deleted["labs"] == 1 and summary.updated["labs"] == 0
    assert "hb" not in set(store.load_tables()["labs"]["analyte"])
    last = store.audit_log().iloc[-1]
    assert (last.action, last.table_name, json.loads(last.row_key)["analyte"]) == ("delete", "labs", "hb")
    assert json.loads(last.old_value)["value"] == 8.5


def test_deleting_a_scan_takes_its_lesions_when_lesions_are_not_imported(store: Store, tmp_path: Path) -> None:
    root = copy_dir("good", tmp_path)
    store.import_batch(read_data_dir(root))
    (root / "lesions.csv").unlink()
    (root / "scans.csv").write_text("patient_id,centre,scan_id,day,modality\nP001,A,S0,-10,petct\n")
    summary = store.import_batch(read_data_dir(root))
    assert summary.deleted["scans"] == 1 and summary.deleted["lesions"] == 1
    assert store.load_tables()["lesions"]["scan_id"].tolist() == ["S0"]


def test_invalid_batch_leaves_database_unchanged(store: Store) -> None:
    store.import_batch(read_data_dir(DATA / "good"))
    before = _contents(store)
    with pytest.raises(InputError, match="duplicate key"):
        store.import_batch(read_data_dir(DATA / "errors"))
    _assert_same(before, _contents(store))


def test_failure_midway_rolls_back_everything(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    root = copy_dir("good", tmp_path)
    store.import_batch(read_data_dir(root))
    before = _contents(store)
    (root / "patients.csv").write_text((root / "patients.csv").read_text() +
                                       "P003,A,validation,F,70,DLBCL,4,2,,1,false,false,none,liso-cel,,,,,,\n")
    original = Store._insert

    def insert_then_fail(self: Store, conn, name, rows, base, trail) -> None:  # type: ignore[no-untyped-def]
        original(self, conn, name, rows, base, trail)
        if name == "patients" and not rows.empty:
            raise RuntimeError("simulated crash after inserting patients")

    monkeypatch.setattr(Store, "_insert", insert_then_fail)
    with pytest.raises(RuntimeError, match="simulated crash"):
        store.import_batch(read_data_dir(root))
    _assert_same(before, _contents(store))


def test_centre_scoping(store: Store, tmp_path: Path) -> None:
    root = write_files(tmp_path / "two", {
        "patients.csv": "patient_id,centre,age,stage\nP1,A,50,2\nP1,B,60,3\nP2,B,70,4\n",
        "toxicity.csv": "patient_id,centre,crs_grade,icans_grade\nP1,A,1,0\nP1,B,2,2\n",
    })
    store.import_batch(read_data_dir(root))
    only_b = store.load_tables(["B"])
    assert only_b["patients"]["patient_id"].tolist() == ["P1", "P2"]
    assert set(only_b["patients"]["centre"]) == {"B"} and only_b["toxicity"]["crs_grade"].tolist() == [2]
    assert all(t.empty for t in store.load_tables([]).values())
    one = store.load_tables(["A"], patient_ids=["P1"])
    assert one["patients"][["centre", "patient_id"]].values.tolist() == [["A", "P1"]]
    assert one["toxicity"]["crs_grade"].tolist() == [1]
    assert store.load_tables(["A"], patient_ids=["P2"])["patients"].empty      # P2 exists only in B
    assert store.patients_count(["A"]) == 1 and store.patients_count() == 3
    assert set(store.audit_log(["A"])["centre"]) == {"A"}


def test_import_of_one_centre_leaves_the_other_alone(store: Store, tmp_path: Path) -> None:
    both = write_files(tmp_path / "both", {"patients.csv": "patient_id,centre,age,stage\nP1,A,50,2\nP1,B,60,3\n"})
    store.import_batch(read_data_dir(both))
    only_a = write_files(tmp_path / "a", {"patients.csv": "patient_id,centre,age,stage\nP1,A,51,2\n"})
    summary = store.import_batch(read_data_dir(only_a))
    assert summary.updated == {"patients": 1}
    assert store.load_tables()["patients"]["age"].tolist() == [51.0, 60.0]


def test_audit_is_append_only(store: Store) -> None:
    store.import_batch(read_data_dir(DATA / "good"))
    for statement in ("UPDATE audit SET user = 'x'", "DELETE FROM audit"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(sa.text(statement.replace("user", '"user"')))
    assert len(store.audit_log()) == 13          # 2 + 5 + 2 + 2 + 2 inserted rows, one audit row each


def test_round_trip_import_export_import_is_lossless(store: Store, store_url: str, tmp_path: Path) -> None:
    store.import_batch(read_data_dir(DATA / "good"))
    first = store.load_tables()
    write_data_dir(first, tmp_path / "export")
    assert store.import_batch(read_data_dir(tmp_path / "export")).changed is False
    second_db = Store(f"sqlite:///{tmp_path / 'second.db'}")
    try:
        second_db.migrate()
        second_db.import_batch(read_data_dir(tmp_path / "export"))
        for name, table in second_db.load_tables().items():
            pd.testing.assert_frame_equal(table, first[name], obj=name)
        write_data_dir(second_db.load_tables(), tmp_path / "export2")
    finally:
        second_db.dispose()
    for path in sorted((tmp_path / "export").iterdir()):
        assert path.read_bytes() == (tmp_path / "export2" / path.name).read_bytes(), path.name


def test_dry_run_rolls_back(store: Store) -> None:
    summary = store.import_batch(read_data_dir(DATA / "good"), dry_run=True)
    assert summary.dry_run and summary.inserted["patients"] == 2
    assert store.patients_count() == 0 and store.audit_log().empty


def test_concurrent_imports_are_serialised_on_postgresql(store: Store, tmp_path: Path) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers with its file lock; the advisory lock is PostgreSQL's")
    import threading

    rows = "".join(f"P{i},A,{50 + i % 40},2\n" for i in range(200))
    first = read_data_dir(write_files(tmp_path / "one", {"patients.csv": "patient_id,centre,age,stage\n" + rows}))
    second = read_data_dir(write_files(tmp_path / "two", {
        "patients.csv": "patient_id,centre,age,stage\n" + rows.replace(",2\n", ",3\n")}))
    barrier, failures = threading.Barrier(2), []

    def run(batch) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            store.import_batch(batch)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(b,)) for b in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    audit = store.audit_log()
    # one import inserted the 200 patients, the other then updated each one's stage
    assert (audit.action == "insert").sum() == 200 and (audit.action == "update").sum() == 200
