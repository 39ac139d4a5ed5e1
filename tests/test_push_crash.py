"""`kill -9` of `hub serve` in the middle of a fan-out, then a restart: every phone ends with
exactly one message, none lost (the outbox is durable) and none twice (a message the push
service acknowledged is recorded before the sender moves on)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hub.push.outbox import Outbox
from hub.settings import DEFAULT_PUSH_SERVICES
from hub.store import open_store
from tests.conftest import free_port
from tests.fakepush import FakePush
from tests.test_push_delivery import TEXTS

PHONES = 200
# Acknowledged before the kill: the fake then holds every further message unanswered, so the
# kill lands with sends in flight that the push service never acknowledged.
BEFORE_KILL = 60
SUBJECT = "mailto:ops@hub.example"
HUB = Path(sys.executable).parent / "hub"


@contextmanager
def _hub(data_dir: Path, push: FakePush, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`hub serve` on the data folder, listing the fake; stopped (SIGTERM) if still running."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env |= {
        "HUB_DATA_DIR": str(data_dir),
        "HUB_PORT": str(free_port()),
        "HUB_PUSH_SERVICES": f"{DEFAULT_PUSH_SERVICES},{push.origin}",
        "HUB_VAPID_SUBJECT": SUBJECT,
        "HUB_PUSH_IN_FLIGHT": "8",
    }
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(HUB), "serve"], cwd=log.parent, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)


@pytest.mark.slow
def test_kill_9_mid_fan_out_then_restart_delivers_each_message_exactly_once(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"
    log = tmp_path / "hub.log"
    with FakePush(lifetime=240) as push:
        phones = [push.phone() for _ in range(PHONES)]
        store = open_store(data_dir / "hub.json")
        try:
            subs = []
            for number, phone in enumerate(phones):
                sub = phone.subscription
                doc = {
                    "id": f"s{number:04d}",
                    "token_hash": f"{number:064x}",
                    "endpoint": sub["endpoint"],
                    "push_service": push.origin,
                    "keys": sub["keys"],
                    "locale": "fil" if number % 2 else "en",
                    "origin": "PH",
                    "destination": "HK",
                    "corridor": "PH-HK",
                    "topics": ["safety"],
                    "discreet": False,
                    "created": "2026-11-01T00:00:00Z",
                    "confirmed": "2026-11-01T00:00:00Z",
                    "last_delivery": None,
                }
                store.insert("subscriptions", doc)
                subs.append(doc)
            alert = {
                "id": "alert-1",
                "push_topic": "shelter-line-2345",
                "version": 1,
                "replaces": None,
                "account_id": "leader-1",
                "network": "Mission for Migrant Workers",
                "corridors": ["PH-HK"],
                "locales": ["en", "fil"],
                "texts": TEXTS,
                "topic": "safety",
                "urgency": "normal",
                "expires": "2099-01-01T00:00:00Z",
                "link": None,
                "status": "published",
                "reason": None,
                "created": "2026-11-30T06:00:00Z",
                "published": "2026-11-30T06:00:00Z",
                "reviewed_by": "curator@hub.example",
                "withdrawn": None,
            }
            store.insert("alerts", alert)
            assert Outbox(store).enqueue(alert, subs) == PHONES
        finally:
            store.close()

        push.delay = 0.05
        push.hold_after(BEFORE_KILL)
        with _hub(data_dir, push, log) as first:
            assert push.wait_for(BEFORE_KILL, timeout=120, holding=1), log.read_text()[-3000:]
            # The acknowledged ones are recorded before their slots go to the next ones.
            time.sleep(1.0)
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        # The held messages' sender is gone: the fake drops them, as unacknowledged.
        time.sleep(0.3)
        push.release()
        assert push.accepted == BEFORE_KILL

        with _hub(data_dir, push, log):
            assert push.wait_for(PHONES, timeout=120), log.read_text()[-3000:]
            # Anything sent twice would arrive within this.
            time.sleep(1.5)
        assert push.accepted == PHONES
        assert push.problems == []
        for number, phone in enumerate(phones):
            locale = "fil" if number % 2 else "en"
            (payload,) = push.messages(phone)
            assert payload is not None and payload["title"] == TEXTS[locale]["title"]

    store = open_store(data_dir / "hub.json")
    try:
        assert store.count("deliveries", state="delivered") == PHONES
        assert all(d["attempts"] == 1 for d in store.find("deliveries"))
    finally:
        store.close()
    # Nothing of a phone in the log: no endpoint.
    assert "/push/" not in log.read_text()
