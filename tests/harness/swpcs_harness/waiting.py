"""Polling for a condition in tests: the one wait loop the cluster tests share."""

import json
import time


def wait_until(predicate, timeout=15.0, what="condition", interval=0.05):
    """The first truthy value of predicate() within timeout seconds; assertion, value, key and JSON
    errors count as "not yet". Raises AssertionError naming `what` and the last value otherwise."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (AssertionError, ValueError, KeyError, json.JSONDecodeError):
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last={last!r}")
