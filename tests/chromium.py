"""A tiny headless-Chromium driver for the browser tests: the DevTools protocol over a
pipe (``--remote-debugging-pipe``: commands on fd 3, replies on fd 4, one JSON message
per NUL-terminated chunk), so no websocket library and no port are needed.

Only what the tests use: open a page, evaluate JavaScript, collect console errors,
take a full-page screenshot.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars", "--window-size=1280,900",
]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class ChromiumError(RuntimeError):
    pass


class Chromium:
    def __init__(self, binary: str, log_path: Path, timeout: float = 30.0):
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="actbench-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipes():  # runs in the child before exec: the protocol wants fds 3 and 4
            # Copy both ends above fd 9 first, so neither is clobbered by the other's dup2.
            read_end = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            write_end = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(read_end, 3)  # dup2 leaves 3 and 4 inheritable across exec
            os.dup2(write_end, 4)

        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self._profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            preexec_fn=wire_pipes, close_fds=False,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self._events: queue.Queue = queue.Queue()
        self.events: list[dict] = []  # every event seen so far, in order
        self._lock = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session = self._attach()

    # ── transport ──────────────────────────────────────────────────────────────
    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._lock:
                    self._lock.notify_all()
                return
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            for raw in messages:
                message = json.loads(raw)
                with self._lock:
                    if "id" in message:
                        self._replies[message["id"]] = message
                    else:
                        self.events.append(message)
                    self._lock.notify_all()

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float | None = None):
        self._next_id += 1
        request = {"id": self._next_id, "method": method, "params": params or {}}
        if session or (session is None and getattr(self, "session", None)):
            request["sessionId"] = session or self.session
        os.write(self._to_browser, json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._lock:
            while request["id"] not in self._replies:
                if self.process.poll() is not None:
                    raise ChromiumError(f"chromium exited ({self.process.returncode}) during {method}")
                if not self._lock.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise ChromiumError(f"no reply to {method} within {timeout or self.timeout} s")
            reply = self._replies.pop(request["id"])
        if "error" in reply:
            raise ChromiumError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _attach(self) -> str:
        targets = self.call("Target.getTargets", session="")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        session = self.call("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True},
                            session="")["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=session)
        return session

    # ── what the tests use ─────────────────────────────────────────────────────
    def wait_event(self, method: str, since: int, timeout: float | None = None) -> dict:
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._lock:
            while True:
                for event in self.events[since:]:
                    if event.get("method") == method:
                        return event
                if not self._lock.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise ChromiumError(f"no {method} event within {timeout or self.timeout} s")

    def open(self, url: str) -> int:
        """Navigate and wait for the load event; returns the index of the first event of this page."""
        since = len(self.events)
        self.call("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired", since)
        return since

    def evaluate(self, expression: str, timeout: float | None = None):
        """Value of a JavaScript expression (promises are awaited); JS exceptions raise."""
        result = self.call("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise ChromiumError(f"JavaScript error: {text}")
        return result["result"].get("value")

    def console_errors(self, since: int = 0) -> list[str]:
        """Console errors, uncaught exceptions and failed loads seen since an event index."""
        errors = []
        for event in self.events[since:]:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                errors.append("console: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"]))
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                errors.append("exception: " + (details.get("exception", {}).get("description") or details.get("text", "")))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                errors.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".strip())
        return errors

    def screenshot(self, path: Path) -> None:
        """A full-page PNG (the whole scroll height, not just the viewport)."""
        self.evaluate("window.scrollTo(0, 0)")  # fixed headers are drawn at the scroll position
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.call("Browser.close", session="", timeout=5)
        except ChromiumError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        shutil.rmtree(self._profile, ignore_errors=True)
