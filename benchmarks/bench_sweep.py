"""Wall time of one small C3 sweep serially (this process) and on the embedded local Dask cluster, with the
two tables compared bit for bit, and the per-task cost extrapolated to a larger cluster.

    python benchmarks/bench_sweep.py [--grid "J=2,3 d=1,2 delta=3,4 seeds=40"] [--steps 300] [--workers N]

The numbers depend on the load of the machine: run it on an idle one.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from rfisher import store as S
from rfisher import sweep as SW


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--grid", default="J=2,3 d=1,2 delta=3,4 seeds=40")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--chunk", type=int, default=4)
    p.add_argument("--workers", type=int, default=os.cpu_count())
    args = p.parse_args()
    settings = SW.C3Settings(steps=args.steps)
    tasks = SW.make_tasks(SW.parse_grid(args.grid), args.chunk)
    warm = [SW.Task(J, K, d, 4.0, 0, 1) for J, K, d in sorted({(t.J, t.K, t.d) for t in tasks})]
    for t in warm:  # compile (or load from the cache) every size first: the timings are of the runs
        SW.c3_rows(t, settings)
    with tempfile.TemporaryDirectory() as tmp:
        times, tables = {}, {}
        for mode in ("serial", "local cluster"):
            with S.Store.open(Path(tmp) / f"{mode}.sqlite", settings.as_json()) as st:
                client = cluster = None
                if mode != "serial":
                    from distributed import Client

                    cluster = SW.local_cluster(args.workers)
                    client = Client(cluster)
                    for t in warm:
                        client.run(SW.c3_rows, t, settings)
                t = time.perf_counter()
                SW.run_sweep(tasks, settings, st, client)
                times[mode] = time.perf_counter() - t
                tables[mode] = st.table()
                task_seconds = st.task_seconds()
                if client is not None:
                    client.close()
                    cluster.close()
        same = S.table_bytes(tables["serial"]) == S.table_bytes(tables["local cluster"])
        print(f"# {len(tasks)} tasks ({args.grid}, {args.steps} steps, {args.chunk} seeds per task), {os.cpu_count()} cores")
        print(f"serial {times['serial']:.1f} s; local cluster of {args.workers} workers {times['local cluster']:.1f} s "
              f"(speed-up {times['serial'] / times['local cluster']:.2f}); tables identical bit for bit: {same}")
        print(f"per-task cost on a worker: mean {task_seconds.mean():.2f} s; a 64-worker cluster would take about "
              f"{task_seconds.sum() / 64:.1f} s for this grid (+ its start-up)")


if __name__ == "__main__":
    main()
