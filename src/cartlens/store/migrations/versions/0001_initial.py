"""Initial schema: centres, canonical tables, imports, import_files, append-only audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Written from ``cartlens.store.models`` at this revision and frozen: later changes to the models need a new
revision (``tests/foundation/test_store.py`` checks that the migrated database equals the models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_APPEND_ONLY_PG = """
CREATE OR REPLACE FUNCTION cartlens_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit is append-only';
END;
$$ LANGUAGE plpgsql
"""


def _append_only_audit() -> None:
    """Refuse UPDATE and DELETE on audit at the database level (web_and_security.md: append-only audit)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_no_{event.lower()} BEFORE {event} ON audit "
                       "BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END")
    elif dialect == "postgresql":
        op.execute(_APPEND_ONLY_PG)
        op.execute("CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit "
                   "FOR EACH ROW EXECUTE FUNCTION cartlens_audit_append_only()")


def _drop_append_only_audit() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_append_only ON audit")
        op.execute("DROP FUNCTION IF EXISTS cartlens_audit_append_only()")


def upgrade() -> None:
    op.create_table('centres',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_centres'))
    )
    op.create_table('imports',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('inserted', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports'))
    )
    op.create_table('audit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('table_name', sa.String(length=50), nullable=False),
    sa.Column('centre', sa.String(length=100), nullable=True),
    sa.Column('row_key', sa.Text(), nullable=False),
    sa.Column('column_name', sa.String(length=100), nullable=True),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_audit_import_id_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit'))
    )
    op.create_index(op.f('ix_audit_centre'), 'audit', ['centre'], unique=False)
    op.create_index(op.f('ix_audit_import_id'), 'audit', ['import_id'], unique=False)
    op.create_table('import_files',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['imports.id'], name=op.f('fk_import_files_import_id_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_files'))
    )
    op.create_index(op.f('ix_import_files_import_id'), 'import_files', ['import_id'], unique=False)
    op.create_table('patients',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('patient_id', sa.String(length=200), nullable=False),
    sa.Column('centre', sa.String(length=100), nullable=False),
    sa.Column('cohort', sa.String(length=200), nullable=True),
    sa.Column('sex', sa.String(length=40), nullable=True),
    sa.Column('age', sa.Float(precision=53), nullable=False),
    sa.Column('histology', sa.String(length=40), nullable=True),
    sa.Column('stage', sa.Integer(), nullable=False),
    sa.Column('ecog', sa.Integer(), nullable=True),
    sa.Column('extranodal_sites', sa.Text(), nullable=True),
    sa.Column('prior_lines', sa.Integer(), nullable=True),
    sa.Column('prior_auto_hct', sa.Boolean(), nullable=True),
    sa.Column('primary_refractory', sa.Boolean(), nullable=True),
    sa.Column('bridging', sa.String(length=40), nullable=True),
    sa.Column('product', sa.String(length=40), nullable=True),
    sa.Column('mtv_ml', sa.Float(precision=53), nullable=True),
    sa.Column('mtv_method', sa.String(length=40), nullable=True),
    sa.Column('pfs_days', sa.Float(precision=53), nullable=True),
    sa.Column('pfs_event', sa.Integer(), nullable=True),
    sa.Column('os_days', sa.Float(precision=53), nullable=True),
    sa.Column('os_event', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['centre'], ['centres.name'], name=op.f('fk_patients_centre_centres')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patients')),
    sa.UniqueConstraint('centre', 'patient_id', name=op.f('uq_patients_centre_patient_id'))
    )
    op.create_table('biomarkers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('patient_id', sa.String(length=200), nullable=False),
    sa.Column('centre', sa.String(length=100), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('marker', sa.String(length=200), nullable=False),
    sa.Column('value', sa.Float(precision=53), nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['centre', 'patient_id'], ['patients.centre', 'patients.patient_id'], name=op.f('fk_biomarkers_centre_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_biomarkers')),
    sa.UniqueConstraint('centre', 'patient_id', 'day', 'marker', name=op.f('uq_biomarkers_centre_patient_id_day_marker'))
    )
    op.create_table('labs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('patient_id', sa.String(length=200), nullable=False),
    sa.Column('centre', sa.String(length=100), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('analyte', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Float(precision=53), nullable=False),
    sa.Column('unit', sa.String(length=200), nullable=False),
    sa.Column('uln', sa.Float(precision=53), nullable=True),
    sa.Column('censored', sa.String(length=40), nullable=True),
    sa.Column('warning', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['centre', 'patient_id'], ['patients.centre', 'patients.patient_id'], name=op.f('fk_labs_centre_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_labs')),
    sa.UniqueConstraint('centre', 'patient_id', 'day', 'analyte', name=op.f('uq_labs_centre_patient_id_day_analyte'))
    )
    op.create_table('scans',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('patient_id', sa.String(length=200), nullable=False),
    sa.Column('centre', sa.String(length=100), nullable=False),
    sa.Column('scan_id', sa.String(length=200), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.Column('modality', sa.String(length=40), nullable=False),
    sa.Column('spleen_cm', sa.Float(precision=53), nullable=True),
    sa.Column('marrow', sa.String(length=40), nullable=True),
    sa.Column('nontarget', sa.String(length=40), nullable=True),
    sa.Column('clinical_deterioration', sa.Boolean(), nullable=True),
    sa.Column('liver_suvmean', sa.Float(precision=53), nullable=True),
    sa.Column('mbp_suvmax', sa.Float(precision=53), nullable=True),
    sa.Column('image', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['centre', 'patient_id'], ['patients.centre', 'patients.patient_id'], name=op.f('fk_scans_centre_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scans')),
    sa.UniqueConstraint('centre', 'patient_id', 'scan_id', name=op.f('uq_scans_centre_patient_id_scan_id'))
    )
    op.create_table('toxicity',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('patient_id', sa.String(length=200), nullable=False),
    sa.Column('centre', sa.String(length=100), nullable=False),
    sa.Column('crs_grade', sa.Integer(), nullable=False),
    sa.Column('icans_grade', sa.Integer(), nullable=False),
    sa.Column('icu', sa.Boolean(), nullable=True),
    sa.Column('tocilizumab', sa.Boolean(), nullable=True),
    sa.Column('corticosteroids', sa.Boolean(), nullable=True),
    sa.Column('icaht_grade', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['centre', 'patient_id'], ['patients.centre', 'patients.patient_id'], name=op.f('fk_toxicity_centre_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_toxicity')),
    sa.UniqueConstraint('centre', 'patient_id', name=op.f('uq_toxicity_centre_patient_id'))
    )
    op.create_table('lesions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('patient_id', sa.String(length=200), nullable=False),
    sa.Column('centre', sa.String(length=100), nullable=False),
    sa.Column('scan_id', sa.String(length=200), nullable=False),
    sa.Column('lesion_id', sa.String(length=200), nullable=False),
    sa.Column('site', sa.String(length=40), nullable=False),
    sa.Column('nodal', sa.Boolean(), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=True),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('ldi_cm', sa.Float(precision=53), nullable=True),
    sa.Column('sdi_cm', sa.Float(precision=53), nullable=True),
    sa.Column('volume_ml', sa.Float(precision=53), nullable=True),
    sa.Column('suvmax', sa.Float(precision=53), nullable=True),
    sa.Column('deauville', sa.String(length=40), nullable=True),
    sa.Column('uptake_vs_baseline', sa.String(length=40), nullable=True),
    sa.Column('attribution', sa.String(length=40), nullable=True),
    sa.Column('biopsy_proven', sa.Boolean(), nullable=True),
    sa.Column('centroid_x_mm', sa.Float(precision=53), nullable=True),
    sa.Column('centroid_y_mm', sa.Float(precision=53), nullable=True),
    sa.Column('centroid_z_mm', sa.Float(precision=53), nullable=True),
    sa.Column('bridging_rt', sa.Boolean(), nullable=True),
    sa.ForeignKeyConstraint(['centre', 'patient_id', 'scan_id'], ['scans.centre', 'scans.patient_id', 'scans.scan_id'], name=op.f('fk_lesions_centre_patient_id_scan_id_scans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lesions')),
    sa.UniqueConstraint('centre', 'patient_id', 'scan_id', 'lesion_id', name=op.f('uq_lesions_centre_patient_id_scan_id_lesion_id'))
    )
    _append_only_audit()


def downgrade() -> None:
    _drop_append_only_audit()
    op.drop_table('lesions')
    op.drop_table('toxicity')
    op.drop_table('scans')
    op.drop_table('labs')
    op.drop_table('biomarkers')
    op.drop_table('patients')
    op.drop_index(op.f('ix_import_files_import_id'), table_name='import_files')
    op.drop_table('import_files')
    op.drop_index(op.f('ix_audit_import_id'), table_name='audit')
    op.drop_index(op.f('ix_audit_centre'), table_name='audit')
    op.drop_table('audit')
    op.drop_table('imports')
    op.drop_table('centres')
