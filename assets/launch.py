"""The main job run from the command line (`tradewh build`) as the web UI runs it: in this process,
but created with the code location's origin, so the run is listed on the job's page in the UI
(its Runs tab filters on the run's `.dagster/repository` tag, which the origin gives), is drawn on
the Overview timeline, and is re-executed from there as the same version of the job (the run's job
snapshot is the code location's).

The code location is the installed module `tradewh.definitions` under the location name `tradewh`,
as workspace.yaml and the dg project (pyproject.toml [tool.dg]) declare it to the web UI. This is
what `dagster job execute` does, through the same Dagster internals (pinned Dagster version), plus
the origin it leaves out.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from dagster import DagsterInstance
from dagster._core.definitions.reconstruct import ReconstructableRepository
from dagster._core.execution.api import execute_run
from dagster._core.execution.job_execution_result import JobExecutionResult
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

CODE_LOCATION = "tradewh"  # the location name workspace.yaml gives and dg derives from the project name
MODULE = "tradewh.definitions"
REPOSITORY = "__repository__"  # Dagster's name for the repository of a Definitions object
DEFINITIONS_ATTRIBUTE = "defs"


def execute_job(
    instance: DagsterInstance, job_name: str, run_config: Mapping, tags: Mapping[str, str]
) -> JobExecutionResult:
    """Create the run of `job_name` with the code location's origin and execute it in this process.
    Never raises for a failed step (the result says, as with raise_on_error=False)."""
    repository = ReconstructableRepository.for_module(MODULE, DEFINITIONS_ATTRIBUTE)
    job = repository.get_reconstructable_job(job_name)
    origin = RemoteJobOrigin(
        RemoteRepositoryOrigin(
            ManagedGrpcPythonEnvCodeLocationOrigin(
                LoadableTargetOrigin(executable_path=sys.executable, module_name=MODULE),
                location_name=CODE_LOCATION,
            ),
            REPOSITORY,
        ),
        job_name,
    )
    run = instance.create_run_for_job(
        job_def=job.get_definition(),
        run_config=run_config,
        tags=tags,
        remote_job_origin=origin,
        job_code_origin=job.get_python_origin(),
    )
    return execute_run(job, run, instance, raise_on_error=False)
