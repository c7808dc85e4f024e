"""What the recording routes and page share: the recording service, the QA forms, and the
playback audit memory, on the application under ``RECORDINGS_KEY``.
"""

from __future__ import annotations

from collections import OrderedDict

from aiohttp import web

from agent_api.errors import ApiError
from recording.quality import Form, load_forms
from recording.service import RecordingService

PLAY_AUDIT_WINDOW_S = 600.0


class RecordingsUnavailable(ApiError):
    status = 503
    error_id = "recordings_unavailable"


class Recordings:
    """What the routes need: the service, the QA forms, and the playback audit memory."""

    def __init__(self, service: RecordingService, forms: dict[str, Form] | None = None) -> None:
        self.service = service
        self.forms = forms if forms is not None else load_forms()
        self._played: OrderedDict[tuple[str, int], float] = OrderedDict()

    def first_play(self, username: str, recording_id: int, now: float) -> bool:
        key = (username, recording_id)
        last = self._played.get(key)
        self._played[key] = now
        self._played.move_to_end(key)
        while len(self._played) > 10_000:
            self._played.popitem(last=False)
        return last is None or now - last > PLAY_AUDIT_WINDOW_S


RECORDINGS_KEY: web.AppKey[Recordings] = web.AppKey("recordings", Recordings)


def _recordings(request: web.Request) -> Recordings:
    found = request.app.get(RECORDINGS_KEY)
    if found is None:
        raise RecordingsUnavailable("recording is not configured on this server")
    return found
