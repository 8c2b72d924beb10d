"""cartlens.report: the study report (shell: renders and writes files).

``Section``/``Figure`` + ``render_html``/``write_report`` (``cartlens.report.html``) build one self-contained
``report.html`` with ``tables/*.csv`` and ``figures/*``; ``cartlens.report.cohort.cohort_section`` is section 1
(Table 1 by cohort, follow-up and survival).  Later sections append further ``Section`` objects.
"""

from __future__ import annotations

from cartlens.report.html import Figure, Section, render_html, write_report

__all__ = ["Figure", "Section", "render_html", "write_report"]
