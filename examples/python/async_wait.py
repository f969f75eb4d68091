#!/usr/bin/env python3
"""Wait for a traced program's stops from asyncio, without blocking the event loop.

    python3 async_wait.py sleep 1

Process.fileno() is readable whenever the process is stopped or gone, so the event loop
can watch it with loop.add_reader like a socket; then wait_stop(0) returns at once.
(Process.wait_stop_async() packages the same thing.)
"""
import asyncio
import sys

from ptrace_dbg import Exited, Process


async def next_stop(p: Process) -> int:
    """The tid that stopped the process next; Exited once it is gone."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    def wake() -> None:                                 # readable: stopped, or gone
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(p.fileno(), wake)
    try:
        await ready                                     # the loop runs other tasks meanwhile
    finally:
        loop.remove_reader(p.fileno())
    return p.wait_stop(0)                               # does not block now


async def heartbeat(counter: list) -> None:
    while True:
        await asyncio.sleep(0.05)
        counter[0] += 1


async def main(argv: list) -> int:
    ticks = [0]
    beat = asyncio.create_task(heartbeat(ticks))
    with Process.launch(argv) as p:
        print(f"launched {argv[0]}, pid {p.pid}")
        while True:
            p.cont()
            try:
                tid = await next_stop(p)
            except Exited:
                break
            print(f"stop: thread {tid}: {p.stop_cause(tid)}")
        code, signal = p.exit_status or (-1, 0)
    beat.cancel()
    print(f"exited with status {code}; the event loop ticked {ticks[0]} times meanwhile")
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:] or ["sleep", "1"])))
