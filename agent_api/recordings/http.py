"""Recordings: search, playback with seeking (HTTP Range), download, QA scoring, holds, storage.

Who may hear what: supervisors and admins every recording; an agent only the calls they
answered (their results and scores too), with the caller's number masked. Every playback and
download goes to the audit log — a playback once per listener and recording per
``PLAY_AUDIT_WINDOW_S``, so a player's seeks (each a new Range request) do not flood it.
"""

from __future__ import annotations

from agent_api.openapi import Endpoint
from agent_api.recordings.pause_http import pause_recording, resume_recording
from agent_api.recordings.playback_http import (
    download_recording,
    play_recording,
    recording_detail,
    search_recordings,
)
from agent_api.recordings.qa_http import qa_forms, qa_scores, review_recording
from agent_api.recordings.retention_http import hold_recording, purge_now, storage_use

# Literal paths before the {recording_id} ones, so /api/recordings/forms is not an id.
ENDPOINTS: list[Endpoint] = [
    search_recordings,
    qa_forms,
    qa_scores,
    storage_use,
    purge_now,
    recording_detail,
    play_recording,
    download_recording,
    review_recording,
    hold_recording,
    pause_recording,
    resume_recording,
]
