"""Who may hear what: supervisors and admins every recording, an agent only the calls they
answered, with the caller's number masked.
"""

from __future__ import annotations

from aiohttp import web

from agent_api.errors import Forbidden, NotFoundError
from agent_api.recordings.schemas import RecordingOut
from agent_api.recordings.service import _recordings
from agent_api.security import Principal, Role
from crm import recordings as index
from crm.recordings import Recording

SUPERVISOR = (Role.SUPERVISOR, Role.ADMIN)
EVERYONE = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)


def _is_supervisor(principal: Principal) -> bool:
    return principal.has(Role.SUPERVISOR, Role.ADMIN)


def own_agents(principal: Principal) -> tuple[str, ...]:
    """How an agent's calls are named in the index: their account, or their phone's interface."""
    names = [principal.username]
    if principal.extension:
        names.append(f"PJSIP/{principal.extension}")
    return tuple(names)


def _mask(number: str) -> str:
    return number[:3] + "*" * (len(number) - 7) + number[-4:] if len(number) > 7 else number


def _out(recording: Recording, principal: Principal) -> RecordingOut:
    number = recording.number if _is_supervisor(principal) else _mask(recording.number)
    return RecordingOut(
        id=recording.id,
        call_id=recording.call_id,
        started_at=recording.started_at,
        ended_at=recording.ended_at,
        agent=recording.agent,
        queue=recording.queue,
        number=number,
        customer_id=recording.customer_id,
        disposition=recording.disposition,
        duration_s=recording.duration_s,
        size_bytes=recording.size_bytes,
        format=recording.format,
        channels=recording.channels,
        checksum=recording.checksum,
        talk_ratio=recording.talk_ratio,
        silence_ratio=recording.silence_ratio,
        crosstalk_s=recording.crosstalk_s,
        state=recording.state.value,
        error=recording.error,
        retain_until=recording.retain_until,
        held=recording.held,
        hold_reason=recording.hold_reason,
        qa_score=recording.qa_score,
    )


async def _visible(request: web.Request, principal: Principal, recording_id: int) -> Recording:
    recording = await index.get_recording(_recordings(request).service.db, recording_id)
    if recording is None:
        raise NotFoundError(f"no recording {recording_id}")
    if not _is_supervisor(principal) and recording.agent not in own_agents(principal):
        raise Forbidden("agents may only open the recordings of calls they answered")
    return recording
