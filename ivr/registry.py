"""The menus in force, one per hotline number, reloaded without a restart.

``load()`` reads every ``*.yaml`` in the menus directory at start and refuses to start on a
broken file (the operator is at the console). Afterwards ``reload()`` (called by the watcher
when a file changes, or by an operator) replaces a menu only when its new version is valid:
a broken edit keeps the last good menu in force and logs every problem.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ivr.errors import MenuInvalid
from ivr.loader import load_menu
from ivr.nodes import MenuDefinition
from ivr.workdays import WorkCalendar

log = logging.getLogger(__name__)

_Stamp = tuple[int, int, int]  # mtime_ns, size, inode


@dataclass(slots=True)
class ReloadReport:
    loaded: list[str] = field(default_factory=list)
    rejected: dict[str, MenuInvalid] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.loaded or self.rejected or self.removed)


class MenuRegistry:
    def __init__(self, directory: str | Path, *, poll_interval_s: float = 2.0) -> None:
        self.directory = Path(directory)
        self.poll_interval_s = poll_interval_s
        self._menus: dict[str, MenuDefinition] = {}
        self._calendars: dict[str, WorkCalendar] = {}
        self._stamps: dict[Path, _Stamp] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._waiters: list[asyncio.Future[ReloadReport]] = []

    def get(self, number: str) -> MenuDefinition | None:
        return self._menus.get(number)

    def calendar(self, number: str) -> WorkCalendar:
        return self._calendars[number]

    def numbers(self) -> list[str]:
        return sorted(self._menus)

    def menus(self) -> list[MenuDefinition]:
        return [self._menus[number] for number in sorted(self._menus)]

    def load(self) -> None:
        """Read every menu; raise ``MenuInvalid`` with the problems of every broken file."""
        report = self.reload()
        if report.rejected:
            raise MenuInvalid([p for error in report.rejected.values() for p in error.problems])

    def reload(self) -> ReloadReport:
        report = ReloadReport()
        try:
            files = sorted(self.directory.glob("*.yaml"))
        except OSError as exc:
            log.warning("ivr_menus_unreadable", extra={"kv": {"dir": str(self.directory), "error": str(exc)}})
            return report
        present = set()
        for path in files:
            present.add(path)
            try:
                info = path.stat()
            except OSError:
                continue
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
            if self._stamps.get(path) == stamp:
                continue
            self._stamps[path] = stamp
            try:
                menu = load_menu(path)
            except MenuInvalid as exc:
                report.rejected[str(path)] = exc
                kept = "kept the last good version" if path.stem in self._menus else "not loaded"
                for problem in exc.problems:
                    fields = {"file": problem.file, "node": problem.node, "problem": problem.message}
                    log.warning("ivr_menu_rejected", extra={"kv": {**fields, "menu": kept}})
                continue
            self._menus[menu.number] = menu
            self._calendars[menu.number] = WorkCalendar(menu.calendar)
            report.loaded.append(menu.number)
            log.info("ivr_menu_loaded", extra={"kv": {"file": str(path), "nodes": len(menu.nodes)}})
        for path in [p for p in self._stamps if p not in present]:
            del self._stamps[path]
            if self._menus.pop(path.stem, None) is not None:
                self._calendars.pop(path.stem, None)
                report.removed.append(path.stem)
                log.warning("ivr_menu_removed", extra={"kv": {"file": str(path)}})
        if report.changed:
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_result(report)
            self._waiters.clear()
        return report

    def next_change(self) -> asyncio.Future[ReloadReport]:
        """A future of the report of the next reload that changes something (registered now)."""
        waiter: asyncio.Future[ReloadReport] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return waiter

    async def start(self) -> None:
        """Load the menus if ``load()`` was not called (raising ``MenuInvalid`` on a broken file),
        then watch the directory: poll file stamps (cheap, and works on every filesystem)."""
        if not self._stamps:
            self.load()
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="ivr-menu-watcher")

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval_s)
            # In the loop, not a thread: a poll is a few stat() calls, a reparse happens only when
            # an operator saved a file, and the waiters' futures belong to this loop.
            try:
                self.reload()
            except Exception:
                log.exception("ivr_menu_watch_failed", extra={"kv": {"dir": str(self.directory)}})
