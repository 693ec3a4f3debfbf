"""Step Functions API throttling in the emulator, as AWS applies it.

AWS throttles each Step Functions API per account and region with a token bucket: a bucket
of `burst` tokens refilled at `rate` tokens a second; a call takes one token, and a call that
finds the bucket empty is refused with HTTP 400 and

    {"__type": "ThrottlingException", "message": "Rate exceeded"}

which botocore's retry handlers recognise as throttling (standard mode backs off and retries
it, then raises a ClientError with that code). Every caller in the account shares the buckets:
the company's own services, the state machines' own callbacks and the console.

Off unless turned on, through moto's config (what `mock_aws(config=...)` and the server's
`POST /moto-api/config` set):

    {"stepfunctions": {"execute_state_machine": true, "throttling": "aws"}}

"aws" uses DEFAULTS (the documented defaults of the large regions); a mapping
`{"DescribeExecution": [burst, rate], ...}` replaces them (APIs it does not name are not
throttled). The counters of what was answered and refused per API are the benchmarks' witness:
`counters()` in process, `GET /moto-api/throttling` from the server (`POST` resets them and
refills the buckets).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# (burst, refill per second) per API: the Step Functions defaults documented for the large
# regions (us-east-1, us-west-2, eu-west-1) for the calls the console makes in bulk; the
# other regions have lower ones (give them as a mapping).
DEFAULTS: dict[str, tuple[float, float]] = {
    "DescribeExecution": (300, 15),
    "GetExecutionHistory": (400, 20),
    "ListExecutions": (200, 5),
    "StartExecution": (1300, 300),
}

THROTTLED_BODY = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})


class _Bucket:
    def __init__(self, burst: float, rate: float) -> None:
        self.burst = burst
        self.rate = rate
        self.tokens = burst
        self.updated = time.monotonic()

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


_lock = threading.Lock()
_buckets: dict[tuple[str, str, str], _Bucket] = {}
_served: Counter[str] = Counter()
_throttled: Counter[str] = Counter()
_installed = False


def quotas() -> dict[str, tuple[float, float]]:
    """The quotas in force now (empty: throttling is off)."""
    from moto.core.config import default_user_config

    config: dict[str, Any] = dict(default_user_config.get("stepfunctions", {}))
    setting = config.get("throttling")
    if not setting:
        return {}
    if setting == "aws":
        return DEFAULTS
    limits: dict[str, Any] = dict(setting)
    return {str(api): (float(v[0]), float(v[1])) for api, v in limits.items()}


def admit(account: str, region: str, action: str) -> bool:
    """Take a token for one call of `action` (True), or refuse it (False)."""
    limits = quotas()
    limit = limits.get(action)
    with _lock:
        if limit is None:
            _served[action] += 1
            return True
        key = (account, region, action)
        bucket = _buckets.get(key)
        if bucket is None or (bucket.burst, bucket.rate) != limit:
            bucket = _buckets[key] = _Bucket(*limit)
        if bucket.take(time.monotonic()):
            _served[action] += 1
            return True
        _throttled[action] += 1
        return False


def counters() -> dict[str, dict[str, int]]:
    """Calls answered and refused per API since the last reset."""
    with _lock:
        return {"served": dict(_served), "throttled": dict(_throttled)}


def reset() -> None:
    """Zero the counters and refill every bucket."""
    with _lock:
        _served.clear()
        _throttled.clear()
        _buckets.clear()


@contextmanager
def enabled(limits: str | dict[str, Any] = "aws") -> Iterator[None]:
    """Throttle the in-process moto for the block ("aws": DEFAULTS), counters from zero."""
    from moto.core.config import default_user_config

    previous = default_user_config.get("stepfunctions", {})
    # A new dict: moto keeps the one its config was given, which may be a shared constant.
    config: Any = {**previous, "throttling": limits}
    default_user_config["stepfunctions"] = config
    reset()
    try:
        yield
    finally:
        default_user_config["stepfunctions"] = previous
        reset()


def _counters_endpoint(
    request: Any, full_url: str, headers: Any
) -> tuple[int, dict[str, str], bytes]:
    if request.method == "POST":
        reset()
    return 200, {"Content-Type": "application/json"}, json.dumps(counters()).encode()


def install() -> None:
    """Put the buckets in front of every Step Functions API call (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.moto_api._internal import urls as moto_api_urls
    from moto.stepfunctions.responses import StepFunctionResponse

    original = StepFunctionResponse.call_action

    def call_action(self: Any) -> Any:
        action = self._get_action()
        if not admit(self.current_account, self.region, action):
            return (
                400,
                {"Content-Type": "application/x-amz-json-1.0", "status": "400"},
                THROTTLED_BODY,
            )
        return original(self)

    StepFunctionResponse.call_action = call_action  # type: ignore[method-assign]
    moto_api_urls.url_paths["{0}/moto-api/throttling"] = _counters_endpoint
    _installed = True
