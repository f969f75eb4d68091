"""Waiting for stops from asyncio through fileno() / loop.add_reader: the loop keeps running."""

from __future__ import annotations

import asyncio
import os
import unittest

import helpers
from helpers import WAIT, launch, symbol
from ptrace_dbg import CauseKind, ExitStatus, Exited, Process, Timeout


async def ticker(counter: list) -> None:
    while True:
        await asyncio.sleep(0.01)
        counter[0] += 1


class AsyncioTest(unittest.TestCase):
    def setUp(self):
        helpers.require_tracee(self)

    def launch(self, *args: str) -> Process:
        devnull = os.open(os.devnull, os.O_WRONLY)
        self.addCleanup(os.close, devnull)
        p = launch(*args, stdout=devnull)
        self.addCleanup(p.close)
        return p

    def test_add_reader_waits_without_blocking_the_loop(self):
        p = self.launch("exit_later", "1")  # a thread exits(7) after one second

        async def next_stop() -> int:
            loop = asyncio.get_running_loop()
            ready = loop.create_future()
            loop.add_reader(p.fileno(), lambda: None if ready.done() else ready.set_result(None))
            try:
                await asyncio.wait_for(ready, WAIT)
            finally:
                loop.remove_reader(p.fileno())
            return p.wait_stop(0)

        async def main() -> "tuple[list, int]":
            ticks = [0]
            task = asyncio.create_task(ticker(ticks))
            kinds: list = []
            try:
                while True:
                    p.cont()
                    try:
                        tid = await next_stop()
                    except Exited:
                        return kinds, ticks[0]
                    kinds.append(p.stop_cause(tid).kind)
            finally:
                task.cancel()

        kinds, ticks = asyncio.run(asyncio.wait_for(main(), 30))
        self.assertIn(CauseKind.THREAD_CREATE, kinds)
        self.assertGreater(ticks, 20)  # the loop ran while the tracee slept for a second
        self.assertEqual(p.exit_status, ExitStatus(7, 0))

    def test_wait_stop_async(self):
        p = self.launch("bp_loop", "3")
        target = symbol(p, "target_fn")
        p.add_breakpoint(target)

        async def main() -> "tuple[list, int]":
            ticks = [0]
            task = asyncio.create_task(ticker(ticks))
            hits = []
            try:
                for _ in range(3):
                    p.cont()
                    tid = await p.wait_stop_async(timeout=WAIT)
                    hits.append(p.regs(tid)["rdi"])
                p.remove_breakpoint(target)
                while True:
                    p.cont()
                    try:
                        await p.wait_stop_async(timeout=WAIT)
                    except Exited:
                        return hits, ticks[0]
            finally:
                task.cancel()

        hits, _ = asyncio.run(asyncio.wait_for(main(), 30))
        self.assertEqual(hits, [0, 1, 2])
        self.assertEqual(p.exit_status, ExitStatus(0, 0))

    def test_wait_stop_async_timeout(self):
        p = self.launch("spin", "0")
        p.cont()

        async def main() -> int:
            ticks = [0]
            task = asyncio.create_task(ticker(ticks))
            try:
                with self.assertRaises(Timeout):
                    await p.wait_stop_async(timeout=0.3)
            finally:
                task.cancel()
            return ticks[0]

        # Its own short deadline: a wait that ignores its timeout fails in 5 s, named.
        self.assertGreater(asyncio.run(asyncio.wait_for(main(), 5)), 5)


if __name__ == "__main__":
    unittest.main()
