"""Python side of `deno task bench:python` (bench/python_compare.ts).

Runs the same workloads as multipool's Pool through multiprocessing.Pool and
prints one JSON line:

- map: Pool(N).map(square, range(items)) with the default chunksize
  (ceil(n / (4 * N))), after a warm-up; one figure per run, in ms.
- serial: the builtin map over the same range, in ms (for reference).
- apply: sequential pool.apply(echo, (i,)) round trips, in microseconds.
- start: Pool(1) created and its first apply answered, in ms (median of
  --starts rounds), with the default start method and with "spawn" (a
  fresh interpreter per worker, as multipool's process backend starts a
  fresh deno).

Run on its own: python3 bench/python/pool_compare.py --items 1000000 --runs 5
"""

import argparse
import json
import multiprocessing
import platform
import statistics
import time


def square(x):
    return x * x


def echo(x):
    return x


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--applies", type=int, default=5000)
    parser.add_argument("--size", type=int, default=2)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()

    start_ms = {}
    for method in (multiprocessing.get_start_method(), "spawn"):
        context = multiprocessing.get_context(method)
        times = []
        for _ in range(args.starts):
            start = time.perf_counter()
            with context.Pool(1) as pool:
                pool.apply(echo, (0,))
                times.append((time.perf_counter() - start) * 1e3)
        start_ms[method] = statistics.median(times)

    with multiprocessing.Pool(args.size) as pool:
        # Warm up: workers started, functions resolved, pipes primed.
        pool.map(square, range(args.items))
        for i in range(200):
            pool.apply(echo, (i,))

        map_ms = []
        for _ in range(args.runs):
            start = time.perf_counter()
            out = pool.map(square, range(args.items))
            map_ms.append((time.perf_counter() - start) * 1e3)
            assert len(out) == args.items
            del out

        serial_ms = []
        for _ in range(args.runs):
            start = time.perf_counter()
            out = list(map(square, range(args.items)))
            serial_ms.append((time.perf_counter() - start) * 1e3)
            del out

        apply_us = []
        for i in range(args.applies):
            start = time.perf_counter()
            pool.apply(echo, (i,))
            apply_us.append((time.perf_counter() - start) * 1e6)

    apply_us.sort()
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "startMethod": multiprocessing.get_start_method(),
                "size": args.size,
                "items": args.items,
                "mapMs": map_ms,
                "serialMs": serial_ms,
                "applyP50Us": statistics.median(apply_us),
                "applyMeanUs": statistics.fmean(apply_us),
                "applyP90Us": apply_us[int(0.9 * (len(apply_us) - 1))],
                "startMs": start_ms,
            }
        )
    )


if __name__ == "__main__":
    main()
