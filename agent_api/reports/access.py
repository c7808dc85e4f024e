"""Who may open which report (docs/reports-pages.md).

- Analysts, supervisors and administrators open every standard report.
- An agent opens only the agent assessment, and only their own figures: the agent filter is
  forced to their account name, which is how the ACD names its agents.
- Analysts and administrators build, save, share and schedule custom reports; supervisors run
  ad-hoc definitions and the saved reports shared with them, but do not save or schedule.
- A saved report is seen by its owner and by the roles it is shared with; it is changed or
  deleted by its owner, or by an administrator who sees it (a report shared with administrators
  can be cleaned up when its owner has left).
"""

from __future__ import annotations

from agent_api.reports.ports import SavedReport, StandardQuery
from agent_api.security import Principal, Role

AGENT_REPORT = "agent_performance"
VIEWERS = (Role.ANALYST, Role.SUPERVISOR, Role.ADMIN)
EVERYONE = (Role.AGENT, *VIEWERS)
BUILDERS = (Role.ANALYST, Role.ADMIN)


def sees_all(principal: Principal) -> bool:
    return principal.has(*VIEWERS)


def may_open_standard(principal: Principal, name: str) -> bool:
    return sees_all(principal) or (name == AGENT_REPORT and principal.has(Role.AGENT))


def scoped(principal: Principal, query: StandardQuery) -> StandardQuery:
    """The query as this viewer may run it: an agent sees themself only, whatever they asked."""
    if sees_all(principal):
        return query
    return StandardQuery(
        date_from=query.date_from,
        date_to=query.date_to,
        grain=query.grain,
        queues=query.queues,
        agents=(principal.username,),
        campaign_ids=query.campaign_ids,
    )


def may_build(principal: Principal) -> bool:
    return principal.has(*BUILDERS)


def may_view_saved(principal: Principal, report: SavedReport) -> bool:
    return report.owner == principal.username or bool(
        set(report.shared_roles) & {r.value for r in principal.roles}
    )


def may_change_saved(principal: Principal, report: SavedReport) -> bool:
    return report.owner == principal.username or (
        principal.has(Role.ADMIN) and may_view_saved(principal, report)
    )
