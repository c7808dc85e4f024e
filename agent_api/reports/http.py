"""The reports API: standard reports, the custom report catalog, ad-hoc runs, saved reports, exports.

Who may do what is in ``access.py``; every export, standard or custom, CSV or XLSX, is written to
the audit log before its first byte leaves.
"""

from __future__ import annotations

from agent_api.openapi import Endpoint
from agent_api.reports.custom_http import export_custom, report_catalog, run_custom
from agent_api.reports.saved_http import (
    create_saved,
    delete_saved,
    export_saved,
    get_saved,
    list_saved,
    run_saved,
    update_saved,
)
from agent_api.reports.standard_http import export_standard, list_standard, standard_report

# Literal paths before the parameterized ones.
ENDPOINTS: list[Endpoint] = [
    list_standard,
    report_catalog,
    run_custom,
    export_custom,
    list_saved,
    create_saved,
    standard_report,
    export_standard,
    get_saved,
    update_saved,
    delete_saved,
    run_saved,
    export_saved,
]
