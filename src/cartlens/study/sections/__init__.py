"""One module per report section (spec study_report.md): each exposes ``build(ctx) -> SectionResult``."""
