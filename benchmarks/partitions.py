"""What Dagster costs per partition: one run over N dynamic partitions of an asset that does nothing,
against one run over one partition, in a SQLite instance like tradewh's (docs/design/partitions.md).

    .venv/bin/python benchmarks/partitions.py [--partitions 235] [--repeat 3]

Prints the median seconds of each and the cost per partition. This is why file sources are
partitioned by release, not by file.
"""

import argparse
import statistics
import tempfile
import time
import warnings

import dagster as dg

warnings.filterwarnings("ignore", category=dg.BetaWarning)
FILES = dg.DynamicPartitionsDefinition(name="files")


@dg.asset(partitions_def=FILES, backfill_policy=dg.BackfillPolicy.single_run())
def nothing(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"partitions": len(context.partition_keys)})


JOB = dg.define_asset_job("nothing", selection=[nothing], executor_def=dg.in_process_executor)
DEFS = dg.Definitions(assets=[nothing], jobs=[JOB])


def run(instance: dg.DagsterInstance, keys: list[str]) -> float:
    start = time.perf_counter()
    result = DEFS.resolve_job_def("nothing").execute_in_process(
        instance=instance,
        tags={"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]},
    )
    assert result.success
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=235)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as home,
        dg.DagsterInstance.local_temp(home, overrides={"telemetry": {"enabled": False}}) as instance,
    ):
        keys = [f"file_{i:04d}" for i in range(args.partitions)]
        instance.add_dynamic_partitions(FILES.name, keys)
        run(instance, keys[:1])  # warm up
        many = [run(instance, keys) for _ in range(args.repeat)]
        one = [run(instance, keys[:1]) for _ in range(args.repeat)]
    m, o = statistics.median(many), statistics.median(one)
    print(f"one run over {args.partitions} partitions: median {m:.2f} s  runs {', '.join(f'{x:.2f}' for x in many)}")
    print(f"one run over 1 partition:      median {o:.2f} s  runs {', '.join(f'{x:.2f}' for x in one)}")
    print(f"per partition: {(m - o) / (args.partitions - 1) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
