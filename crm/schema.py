"""Every table of the CRM in one metadata, for the migrations and the schema check.

A module that declares tables is imported here; forgetting one makes the schema test fail.
"""

from __future__ import annotations

import crm.accounts
import crm.audit
import crm.callback_log
import crm.desk_codes
import crm.messages
import crm.recording_tables
import crm.reporting.saved
import crm.reporting.standard.indexes
import crm.reporting.tables
import crm.restart_state
import crm.sms
import crm.web_sessions  # noqa: F401
from crm.models import Base

METADATA = Base.metadata
