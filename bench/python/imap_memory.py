"""Python side of `deno task bench:imap` (bench/imap_memory.ts).

Pool(N).imap(square, generator of ITEMS ints, chunksize=CHUNKSIZE); the
consumer pauses PAUSE_MS after PAUSE_AFTER results. Prints one JSON line with
the wall time, the time excluding the pause, and the peak RSS growth over
the base (parent + worker processes, VmRSS from /proc sampled every 50 ms,
summed at each sample; base = after the pool started and warmed up), and
how many items the pool pulled from the generator while the consumer paused.

Run on its own: python3 bench/python/imap_memory.py --items 1000000 --pause-ms 1000
"""

import argparse
import json
import multiprocessing
import os
import platform
import threading
import time


def square(x):
    return x * x


pulled = [0]


def numbers(n):
    for i in range(n):
        pulled[0] = i + 1
        yield i


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def total_rss_kb(pids):
    return sum(rss_kb(pid) for pid in pids)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=10_000_000)
    parser.add_argument("--pause-ms", type=int, default=5000)
    parser.add_argument("--pause-after", type=int, default=1000)
    parser.add_argument("--chunksize", type=int, default=1000)
    parser.add_argument("--size", type=int, default=2)
    args = parser.parse_args()

    with multiprocessing.Pool(args.size) as pool:
        for _ in pool.imap(square, numbers(10_000), chunksize=args.chunksize):
            pass
        pids = [os.getpid()] + [p.pid for p in pool._pool]
        time.sleep(0.2)
        base = min(total_rss_kb(pids) for _ in range(5))

        peak = [base]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak[0] = max(peak[0], total_rss_kb(pids))
                stop.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        count = 0
        total = 0
        paused = 0.0
        pulled_in_pause = 0
        start = time.perf_counter()
        for y in pool.imap(square, numbers(args.items), chunksize=args.chunksize):
            count += 1
            total += y
            if count == args.pause_after and args.pause_ms > 0:
                before = pulled[0]
                pause_start = time.perf_counter()
                time.sleep(args.pause_ms / 1000)
                paused = time.perf_counter() - pause_start
                pulled_in_pause = pulled[0] - before
        wall = time.perf_counter() - start
        stop.set()
        sampler.join()
        peak[0] = max(peak[0], total_rss_kb(pids))

    assert count == args.items, (count, args.items)
    n = args.items
    assert total == (n - 1) * n * (2 * n - 1) // 6
    busy = wall - paused
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "startMethod": multiprocessing.get_start_method(),
                "items": count,
                "wallS": wall,
                "pauseS": paused,
                "itemsPerS": n / busy if busy > 0 else None,
                "baseMb": base / 1024,
                "peakGrowthMb": (peak[0] - base) / 1024,
                "pulledDuringPause": pulled_in_pause,
            }
        )
    )


if __name__ == "__main__":
    main()
