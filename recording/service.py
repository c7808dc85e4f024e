"""The recording service: index what Asterisk records, analyse and transcode it after the call,
pause and resume on request, and purge what is past its retention.

Journal: the index row's state. ``recording`` → (call ends) ``pending`` → ``transcoding`` →
``stored`` (or ``failed``, original kept). The spool original is deleted only after the row
says ``stored``; on start every ``pending`` / ``transcoding`` row is queued again, so a stop in
the middle loses nothing and at worst encodes a file twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from crm import recordings as index
from crm.db import Database
from crm.recordings import NewRecording, Recording, RecordingState
from cti.bus import EventBus, Subscription
from cti.errors import SwitchError
from cti.events import CallAnswered, CallEnded, CallOffered, CallQueued, RecordingStarted
from cti.switch import Switch
from recording.analysis import Analysis, analyse
from recording.errors import BadAudio, RecordingError, RecordingNotFound, TranscodeFailed, UnsafePath
from recording.events import RecordingFailed, RecordingReady
from recording.index import Call, CallFacts
from recording.policy import Plan, RecordFrom, RecordingPolicy
from recording.retention import Purged, purge
from recording.storage.paths import ASTERISK_MONITOR_DIR, leg_paths, relative_path, safe_join, stored_path
from recording.storage.transcode import CODECS, Transcoder

log = logging.getLogger(__name__)
T = TypeVar("T")

WORK_QUEUE_SIZE = 1000
PURGE_EVERY_S = 86400.0
LINK_EVERY_S = 60.0
LINK_WINDOW = timedelta(days=3)  # a wrap-up saved later than this is not looked for


def _analysis_worker(parent: int) -> None:
    """Ctrl-C reaches the whole process group; the parent stops the pool in order, so the
    analysis workers ignore it instead of dying with a traceback each. SIGTERM is left alone:
    a worker that ignored it would outlive a parent that is gone (its forkserver dies of it).
    A parent killed outright (SIGKILL, the OOM killer) stops nothing: the worker waits on its
    queue for ever and keeps its forkserver alive, so it ends itself when the parent ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_end_with, args=(parent,), name="end-with-parent", daemon=True).start()


def _end_with(parent: int) -> None:
    try:
        handle = os.pidfd_open(parent)  # readable once the process has ended
    except OSError:
        while _alive(parent):
            time.sleep(2.0)
    else:
        select.select([handle], [], [])
    os._exit(0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RecordingConfig:
    spool_dir: Path
    store_dir: Path
    format: str = "mp3"
    workers: int = 2
    retention_days: int = 180
    asterisk_monitor_dir: str = ASTERISK_MONITOR_DIR  # the spool as Asterisk names its files
    purge_every_s: float = PURGE_EVERY_S
    link_every_s: float = LINK_EVERY_S

    @classmethod
    def from_settings(cls, recording: Any) -> RecordingConfig:
        """From hotline.settings.RecordingSettings."""
        return cls(
            spool_dir=Path(recording.spool_dir),
            store_dir=Path(recording.store_dir),
            format=recording.format,
            workers=recording.workers,
            retention_days=recording.retention_days,
            asterisk_monitor_dir=recording.asterisk_monitor_dir,
        )


class RecordingService:
    def __init__(
        self,
        db: Database,
        bus: EventBus,
        switch: Switch,
        config: RecordingConfig,
        *,
        policy: RecordingPolicy | None = None,
        clock: Callable[[], datetime] = _now,
        agent_of: Callable[[str], str] | None = None,
        analysis_executor: Executor | None = None,
        transcoder: Transcoder | None = None,
        on_state: Callable[[int, RecordingState], None] | None = None,
    ) -> None:
        self.db = db
        self.bus = bus
        self.switch = switch
        self.config = config
        self.policy = policy or RecordingPolicy(default=Plan(retention_days=config.retention_days))
        self.clock = clock
        self.facts = CallFacts(agent_of)
        self.transcoder = transcoder or Transcoder(config.workers, format=config.format)
        # pydub's analysis is pure Python under the GIL: in the service it runs in a pool of
        # processes (made on start) so a long call's analysis cannot slow the loop; process()
        # called without start() uses the loop's default thread pool.
        self._executor = analysis_executor
        self._own_executor: ProcessPoolExecutor | None = None
        self._on_state = on_state
        self._work: asyncio.Queue[int] = asyncio.Queue(WORK_QUEUE_SIZE)
        self._queued: set[int] = set()
        self._overflow = False
        self._tasks: list[asyncio.Task[None]] = []
        self._in_flight: set[asyncio.Future[Any]] = set()
        self._subscription: Subscription | None = None

    # --- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._subscription = self.bus.subscribe(
            "recording", CallOffered, CallQueued, CallAnswered, CallEnded, RecordingStarted, maxsize=10_000
        )
        self.config.store_dir.mkdir(parents=True, exist_ok=True)
        if self._executor is None:
            self._own_executor = ProcessPoolExecutor(
                max_workers=max(1, self.config.workers),
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_analysis_worker,
                initargs=(os.getpid(),),
            )
            self._executor = self._own_executor
            # The first task starts the forkserver and a worker, and the caller waits for that:
            # here in a thread, not later on the event loop (a cluster leader that stalls its
            # loop for longer than its lease margin loses the lease).
            await asyncio.to_thread(self._own_executor.submit, int)
        resumed = await self._requeue_unfinished()
        if resumed:
            log.info("recording_resume", extra={"kv": {"count": resumed}})
        self._tasks.append(asyncio.create_task(self._consume(self._subscription), name="recording-events"))
        for number in range(max(1, self.config.workers)):
            self._tasks.append(asyncio.create_task(self._worker(), name=f"recording-worker-{number}"))
        if self.config.purge_every_s > 0:
            self._tasks.append(asyncio.create_task(self._purge_daily(), name="recording-purge"))
        if self.config.link_every_s > 0:
            self._tasks.append(asyncio.create_task(self._link_regularly(), name="recording-link"))

    async def stop(self) -> None:
        if self._subscription is not None:
            self.bus.unsubscribe(self._subscription)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        # Index writes under way finish rather than being cut (transcodes resume on start).
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        if self._own_executor is not None:
            executor, self._own_executor, self._executor = self._own_executor, None, None
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

    # --- events ------------------------------------------------------------------------------

    async def _to_the_end(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` so that stop() cancels only the waiting around it, never ``work`` itself."""
        future = asyncio.ensure_future(work)
        self._in_flight.add(future)
        future.add_done_callback(self._in_flight.discard)
        return await asyncio.shield(future)

    async def _consume(self, subscription: Subscription) -> None:
        while True:
            event = await subscription.get()
            try:
                await self._to_the_end(self.handle(event))
            except Exception:
                log.exception("recording_event_failed", extra={"kv": {"event": type(event).__name__}})

    async def handle(self, event: object) -> None:
        call = self.facts.see(event)
        if call is None:
            return
        if isinstance(event, RecordingStarted):
            await self._started(event, call)
        elif isinstance(event, CallQueued):
            await self._on_queued(call)
        elif isinstance(event, CallAnswered):
            await index.update_call(self.db, call.call_id, agent=call.agent, queue=call.queue)
        elif isinstance(event, CallEnded):
            await self._ended(event, call)

    def plan_for(self, call: Call) -> Plan:
        return self.policy.plan(queue=call.queue, numbers=call.numbers)

    async def _started(self, event: RecordingStarted, call: Call) -> None:
        try:
            relative = relative_path(event.file, monitor_dir=self.config.asterisk_monitor_dir)
        except UnsafePath as exc:
            log.warning(
                "recording_file_refused", extra={"kv": {"call_id": event.call_id, "reason": str(exc)}}
            )
            return
        plan = self.plan_for(call)
        await index.add_recording(
            self.db,
            NewRecording(
                call_id=event.call_id,
                spool_path=relative,
                started_at=event.at,
                channel=event.channel,
                legs=leg_paths(relative) if plan.split else (),
                number=call.caller,
                queue=call.queue,
                agent=call.agent,
            ),
        )

    async def _on_queued(self, call: Call) -> None:
        """A queue the policy does not record: stop MixMonitor before anything is bridged."""
        if self.plan_for(call).record:
            await index.update_call(self.db, call.call_id, queue=call.queue)
            return
        for recording in await index.recordings_of_call(self.db, call.call_id):
            if recording.state is not RecordingState.RECORDING:
                continue
            try:
                await self.switch.mixmonitor_stop(recording.channel)
            except SwitchError as exc:
                log.warning(
                    "recording_stop_failed", extra={"kv": {"call_id": call.call_id, "error": str(exc)}}
                )
                continue
            await index.update_recording(
                self.db, recording.id, state=RecordingState.PURGED, error=f"not recorded: queue {call.queue}"
            )

    async def _ended(self, event: CallEnded, call: Call) -> None:
        await index.update_call(
            self.db, call.call_id, ended_at=event.at, agent=call.agent, queue=call.queue, number=call.caller
        )
        # Recording from the answer (MixMonitor's b option) writes nothing for a call no agent
        # answered: an abandoned caller leaves no file, and that is not a failure.
        nothing_recorded = not call.agent and self.plan_for(call).record_from is RecordFrom.ANSWER
        for recording in await index.recordings_of_call(self.db, call.call_id):
            if recording.state is not RecordingState.RECORDING:
                continue
            if nothing_recorded:
                await self._set_state(
                    recording.id, RecordingState.PURGED, error="not recorded: the call was never answered"
                )
                continue
            await self._set_state(recording.id, RecordingState.PENDING)
            self._enqueue(recording.id)

    # --- pause / resume ----------------------------------------------------------------------

    async def set_paused(self, call_id: str, paused: bool) -> tuple[str, ...]:
        """Mute (or unmute) every live recording of a call, e.g. while card data is read out."""
        live = [
            r for r in await index.recordings_of_call(self.db, call_id) if r.state is RecordingState.RECORDING
        ]
        if not live:
            raise RecordingNotFound(f"call {call_id} has no recording in progress")
        for recording in live:
            await self.switch.mixmonitor_mute(recording.channel, mute=paused)
        log.info("recording_paused" if paused else "recording_resumed", extra={"kv": {"call_id": call_id}})
        return tuple(r.channel for r in live)

    # --- the pipeline ------------------------------------------------------------------------

    def _enqueue(self, recording_id: int) -> None:
        if recording_id in self._queued:
            return
        try:
            self._work.put_nowait(recording_id)
        except asyncio.QueueFull:
            # The row stays pending in the index; the workers rescan once the queue drains.
            self._overflow = True
            log.warning("recording_queue_full", extra={"kv": {"recording_id": recording_id}})
            return
        self._queued.add(recording_id)

    async def _requeue_unfinished(self) -> int:
        unfinished = await index.in_states(self.db, (RecordingState.PENDING, RecordingState.TRANSCODING))
        for recording in unfinished:
            self._enqueue(recording.id)
        return len(unfinished)

    async def _worker(self) -> None:
        while True:
            if self._work.empty() and self._overflow:
                self._overflow = False
                await self._requeue_unfinished()
            recording_id = await self._work.get()
            try:
                # Not shielded: a stop may cut a transcode; the journal resumes it on start.
                await self.process(recording_id)
            except BrokenProcessPool:
                # A service manager's SIGTERM reaches the workers too; the journal resumes the
                # recording at the next start.
                log.warning("recording_pool_stopped", extra={"kv": {"recording_id": recording_id}})
            except Exception:
                log.exception("recording_process_failed", extra={"kv": {"recording_id": recording_id}})
            finally:
                self._queued.discard(recording_id)

    async def _set_state(self, recording_id: int, state: RecordingState, **facts: Any) -> None:
        await index.update_recording(self.db, recording_id, state=state, **facts)
        if self._on_state is not None:
            self._on_state(recording_id, state)

    def _sources(self, recording: Recording) -> list[Path]:
        relatives = recording.legs or (recording.spool_path,)
        return [safe_join(self.config.spool_dir, relative) for relative in relatives]

    async def process(self, recording_id: int) -> Recording:
        """Analyse, transcode, verify, store; the spool original goes only once stored."""
        recording = await index.get_recording(self.db, recording_id)
        if recording is None:
            raise RecordingNotFound(f"no recording {recording_id}")
        if recording.state not in (RecordingState.PENDING, RecordingState.TRANSCODING):
            return recording
        try:
            sources = self._sources(recording)
            loop = asyncio.get_running_loop()
            analysis: Analysis = await loop.run_in_executor(
                self._executor, analyse, sources[0], sources if len(sources) > 1 else ()
            )
            await self._set_state(
                recording.id,
                RecordingState.TRANSCODING,
                duration_s=analysis.duration_s,
                channels=analysis.channels,
                talk_ratio=analysis.talk_ratio,
                silence_ratio=analysis.silence_ratio,
                crosstalk_s=analysis.crosstalk_s,
            )
            relative = stored_path(recording.spool_path, CODECS[self.config.format].extension)
            result = await self.transcoder.transcode(
                sources, safe_join(self.config.store_dir, relative), expected_s=analysis.duration_s
            )
        except (BadAudio, TranscodeFailed, UnsafePath) as exc:
            return await self._failed(recording, exc)
        plan = self.policy.plan(queue=recording.queue, numbers=(recording.number,))
        await self._set_state(
            recording.id,
            RecordingState.STORED,
            stored_path=relative,
            size_bytes=result.size_bytes,
            format=self.config.format,
            checksum=result.checksum,
            retain_until=(recording.ended_at or recording.started_at) + timedelta(days=plan.retention_days),
            error="",
        )
        for source in sources:
            with contextlib.suppress(FileNotFoundError):
                source.unlink()
        await index.link_contact(self.db, recording.call_id)
        stored = await index.get_recording(self.db, recording.id)
        assert stored is not None
        self.bus.publish(
            RecordingReady(
                at=self.clock(),
                call_id=stored.call_id,
                recording_id=stored.id,
                duration_s=stored.duration_s or 0.0,
                format=stored.format,
            )
        )
        return stored

    async def _failed(self, recording: Recording, exc: RecordingError) -> Recording:
        reason = str(exc)[:500]
        log.warning("recording_failed", extra={"kv": {"recording_id": recording.id, "reason": reason}})
        plan = self.policy.plan(queue=recording.queue, numbers=(recording.number,))
        await self._set_state(
            recording.id,
            RecordingState.FAILED,
            error=reason,
            retain_until=(recording.ended_at or recording.started_at) + timedelta(days=plan.retention_days),
        )
        self.bus.publish(
            RecordingFailed(
                at=self.clock(), call_id=recording.call_id, recording_id=recording.id, reason=reason
            )
        )
        failed = await index.get_recording(self.db, recording.id)
        assert failed is not None
        return failed

    # --- the call's contact record -----------------------------------------------------------

    async def link_contacts(self) -> int:
        """Copy customer, contact and disposition from wrap-ups saved since the call ended.

        The agent usually saves the wrap-up after the recording is stored; this runs every
        ``link_every_s`` for calls of the last few days that have no contact linked yet."""
        linked = 0
        for call_id in await index.unlinked_calls(self.db, self.clock() - LINK_WINDOW):
            linked += await index.link_contact(self.db, call_id)
        return linked

    async def _link_regularly(self) -> None:
        while True:
            await asyncio.sleep(self.config.link_every_s)
            try:
                await self._to_the_end(self.link_contacts())
            except Exception:
                log.exception("recording_link_failed")

    # --- files for playback ------------------------------------------------------------------

    def file_of(self, recording: Recording) -> Path:
        """The file to play: the stored copy, or the spool original until it is transcoded."""
        if recording.state is RecordingState.STORED and recording.stored_path:
            path = safe_join(self.config.store_dir, recording.stored_path)
        elif recording.state in (RecordingState.PENDING, RecordingState.TRANSCODING, RecordingState.FAILED):
            path = safe_join(self.config.spool_dir, recording.spool_path)
        else:
            raise RecordingNotFound(f"recording {recording.id} is {recording.state.value}: no audio to play")
        if not path.is_file():
            raise RecordingNotFound(f"recording {recording.id}: its file is missing from storage")
        return path

    # --- retention ---------------------------------------------------------------------------

    async def purge(self, now: datetime | None = None) -> tuple[Purged, ...]:
        return await purge(
            self.db, now=now or self.clock(), spool_dir=self.config.spool_dir, store_dir=self.config.store_dir
        )

    async def _purge_daily(self) -> None:
        while True:
            try:
                await self._to_the_end(self.purge())
            except Exception:
                log.exception("recording_purge_failed")
            await asyncio.sleep(self.config.purge_every_s)

    def storage_paths(self) -> tuple[Path, Path]:
        return self.config.spool_dir, self.config.store_dir
