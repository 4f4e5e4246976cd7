"""Child processes for the concurrency and crash tests (run as ``python -m tests.procs ...``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import dpp_ledger.passport as pp
from dpp_ledger.ledger import Ledger, MovedOnError, issue_many
from dpp_ledger.ledger.transfer import copy_ledger
from tests.world import DAY, PRODUCT, T0, World, gtin

NOW = T0 + 400 * DAY


def append(path: str, worker: int, start: float, count: int) -> None:
    """Append ``count`` repairs to the demo passport, retrying when the head moved on."""
    world = World()
    pid = world.sold()[0].pid
    with Ledger.open(path, clock=lambda: NOW) as ledger:
        while time.time() < start:
            time.sleep(0.001)
        done = moved = 0
        while done < count:
            head = ledger.chain(pid)[-1]
            event = pp.sign_event(
                world.repairer,
                "repair",
                {"work": f"worker {worker} job {done}"},
                time=head.time + 1,
                after=head,
            )
            try:
                ledger.append(event)
                done += 1
            except MovedOnError:
                moved += 1
        print(f"appended {done} moved {moved}", flush=True)


def bulk(path: str, run: int, total: int, batch: int) -> None:
    """Issue ``total`` passports in batches, reporting each committed batch on stdout."""
    world = World()
    items = (
        {**PRODUCT, "gtin": gtin(f"0361427{i % 100000:06d}"), "serial": f"K{run}-{i}"}
        for i in range(total)
    )
    with Ledger.open(path, clock=lambda: NOW) as ledger:
        issue_many(
            ledger,
            world.factory,
            items,
            time=T0,
            batch_size=batch,
            progress=lambda n: print(n, flush=True),
        )


def spawned_workers(parent: int) -> list[int]:
    """Pool workers started by process ``parent`` (not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def copy(source: str, dest: str, batch: int) -> None:
    """Copy a ledger in batches, reporting each committed batch on stdout."""
    copy_ledger(source, dest, batch=batch, progress=lambda done, _: print(done, flush=True))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "copy":
        copy(args[0], args[1], int(args[2]))
    elif command == "append":
        append(args[0], int(args[1]), float(args[2]), int(args[3]))
    else:
        bulk(args[0], int(args[1]), int(args[2]), int(args[3]))
