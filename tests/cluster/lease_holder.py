"""A process that holds a switch lease and acts while it may: the real SIGSTOP test's subject.

``python -m tests.cluster.lease_holder DB_URL LEASE TTL_S`` prints ``elected EPOCH``, then every
20 ms tries an action through the fence and prints ``acted T`` (T: the wall-clock second it
tried, before the fence's check) or, the first time the fence refuses, ``refused T``; it prints
``deposed`` when it steps down.
"""

from __future__ import annotations

import asyncio
import sys
import time

from cti.errors import SwitchUnavailable
from hotline.cluster.fenced import FencedSwitch
from hotline.cluster.lease import Deposed, Elected, Transition
from hotline.cluster.pg_lease import Elector, PgLeaseStore


class Switch:
    async def redirect(self, asked_at: float) -> None:
        print(f"acted {asked_at:.3f}", flush=True)


async def main(url: str, lease: str, ttl_s: float) -> None:
    def changed(transition: Transition) -> None:
        if isinstance(transition, Elected):
            print(f"elected {transition.epoch}", flush=True)
        elif isinstance(transition, Deposed):
            print(f"deposed {transition.reason}", flush=True)

    elector = Elector(PgLeaseStore(url), name=lease, node="paused", ttl_s=ttl_s, on_change=changed)
    fenced = FencedSwitch(Switch(), elector.may_act)
    await elector.start()
    await elector.elected.wait()
    refused = False
    while True:
        try:
            # Stamped before the fence's check: a stamp after SIGSTOP is an action begun after it.
            await fenced.redirect(time.time())
        except SwitchUnavailable:
            if not refused:
                print(f"refused {time.time():.3f}", flush=True)
                refused = True
        await asyncio.sleep(0.02)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
