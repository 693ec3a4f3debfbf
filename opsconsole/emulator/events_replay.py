"""StartReplay for moto's EventBridge as AWS documents it.

moto 5.2 replays every event of the archive, whatever the window, to every rule of the bus,
without the targets' input transformation, and reports no progress. AWS replays the events
whose time lies in [EventStartTime, EventEndTime), only to the rules named in
`Destination.FilterArns` when given, each target receiving what it would have received the
first time (with `replay-name` added to the event), and reports `EventLastReplayedTime`.
moto also replays inside the StartReplay call; AWS answers STARTING at once and replays in
the background (RUNNING, then COMPLETED, or CANCELLED when cancelled), which matters once a
replay starts hundreds of executions: here too the events go out on a thread of their own,
oldest first, and `EventLastReplayedTime` follows them.
`install()` patches this process's moto (emulator server and the tests' in-process moto).
"""

from __future__ import annotations

import datetime
import logging
import threading
from typing import Any

logger = logging.getLogger(__name__)


def _event_time(event: dict[str, Any]) -> float | None:
    raw = event.get("time")
    if raw is None:
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        pass
    try:
        parsed = datetime.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()


def _as_seconds(value: Any) -> float:
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return float(value)


def install() -> None:
    from moto.core.utils import unix_time
    from moto.events import models

    if getattr(models.Replay, "_opsconsole_window", False):
        return

    def replay_events(self: Any, archive: Any) -> None:
        start, end = _as_seconds(self.event_start_time), _as_seconds(self.event_end_time)
        wanted = set(self.destination.get("FilterArns") or [])
        bus_name = self.destination["Arn"].split("/")[-1]
        backend = models.events_backends[self.account_id][self.region]
        bus = backend.describe_event_bus(bus_name)
        timed = [(at, e) for e in list(archive.events) if (at := _event_time(e)) is not None]
        window = sorted(((at, e) for at, e in timed if start <= at < end), key=lambda pair: pair[0])
        self.last_replayed = None

        def cancelled() -> bool:
            return self.state in (models.ReplayState.CANCELLED, models.ReplayState.CANCELLING)

        def run() -> None:
            if not cancelled():
                self.state = models.ReplayState.RUNNING
            for at, event in window:
                if cancelled():
                    break
                for rule in list(bus.rules.values()):
                    if wanted and rule.arn not in wanted:
                        continue
                    if rule.name.startswith("Events-Archive-"):
                        continue  # AWS's archive rule does not archive replayed events again
                    replayed: Any = dict(event, **{"replay-name": self.name})
                    # A target's InputTransformer applies as the first time; without one the
                    # target gets the whole event, `replay-name` included.
                    transform = any(t.get("InputTransformer") for t in rule.targets)
                    try:
                        rule.send_to_targets(replayed, transform_input=transform)
                    except Exception:  # noqa: BLE001 - one target's failure stops no replay
                        logger.exception("replay %s: a delivery failed", self.name)
                self.last_replayed = at
            if cancelled():
                self.state = models.ReplayState.CANCELLED
            else:
                if self.last_replayed is None:
                    self.last_replayed = start
                self.state = models.ReplayState.COMPLETED
            self.end_time = unix_time()

        threading.Thread(target=run, name=f"replay-{self.name}", daemon=True).start()

    original_short = models.Replay.describe_short

    def describe_short(self: Any) -> dict[str, Any]:
        found = original_short(self)
        last = getattr(self, "last_replayed", None)
        if last is not None:
            found["EventLastReplayedTime"] = last
        return found

    models.Replay.replay_events = replay_events  # type: ignore[method-assign]
    models.Replay.describe_short = describe_short  # type: ignore[method-assign]
    models.Replay._opsconsole_window = True  # type: ignore[attr-defined]
