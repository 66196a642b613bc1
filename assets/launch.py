"""The main job run from the command line (`tradewh build`) as the web UI runs it: in this process,
but created with the code location's origin, so the run is listed on the job's page in the UI
(its Runs tab filters on the run's `.dagster/repository` tag, which the origin gives), is drawn on
the Overview timeline, and is re-executed from there as the same version of the job (the run's job
snapshot is the code location's).

The code location is workspace.yaml's: its one `python_module` entry, under the location name the
web UI gives it (`location_name`, else the module's name). This is what `dagster job execute` does,
through the same Dagster internals (pinned Dagster version), plus the origin it leaves out.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

import yaml
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

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = ROOT / "workspace.yaml"
REPOSITORY = "__repository__"  # Dagster's name for the repository of a Definitions object
DEFINITIONS_ATTRIBUTE = "defs"


def code_location(workspace: Path = WORKSPACE) -> tuple[str, str, Path]:
    """(location name, module, working directory) of the workspace's python_module entry.

    Raises ValueError naming the file when it has no such entry (the web UI could not load it either).
    """
    entries = (yaml.safe_load(workspace.read_text()) or {}).get("load_from") or []
    modules = [e["python_module"] for e in entries if isinstance(e, dict) and "python_module" in e]
    if len(modules) != 1:
        raise ValueError(f"{workspace}: expected one python_module code location, found {len(modules)}")
    entry = modules[0] if isinstance(modules[0], dict) else {"module_name": modules[0]}
    module = entry["module_name"]
    return entry.get("location_name") or module, module, (workspace.parent / entry.get("working_directory", ".")).resolve()


def execute_job(
    instance: DagsterInstance, job_name: str, run_config: Mapping, tags: Mapping[str, str]
) -> JobExecutionResult:
    """Create the run of `job_name` with the code location's origin and execute it in this process.
    Never raises for a failed step (the result says, as with raise_on_error=False)."""
    location, module, working_directory = code_location()
    repository = ReconstructableRepository.for_module(module, DEFINITIONS_ATTRIBUTE, str(working_directory))
    job = repository.get_reconstructable_job(job_name)
    origin = RemoteJobOrigin(
        RemoteRepositoryOrigin(
            ManagedGrpcPythonEnvCodeLocationOrigin(
                LoadableTargetOrigin(executable_path=sys.executable, module_name=module,
                                     working_directory=str(working_directory)),
                location_name=location,
            ),
            REPOSITORY,
        ),
        job_name,
    )
    run = instance.create_run_for_job(
        job_def=job.get_definition(), run_config=run_config, tags=tags,
        remote_job_origin=origin, job_code_origin=job.get_python_origin(),
    )
    return execute_run(job, run, instance, raise_on_error=False)
