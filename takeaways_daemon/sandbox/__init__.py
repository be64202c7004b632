"""The bubblewrap sandbox: generated programs (eval) and the project's own tests (fix checks).

Everything project-controlled or model-generated runs through here, never directly.
"""

from takeaways_daemon.sandbox.availability import SandboxState, sandbox_state
from takeaways_daemon.sandbox.bubblewrap import (
    UNSAFE_WARNING,
    Execution,
    Sandbox,
    SandboxLimits,
    SandboxUnavailable,
    sandbox_python,
)
from takeaways_daemon.sandbox.interpreter import ProjectInterpreter, find_interpreter
from takeaways_daemon.sandbox.project_run import PROJECT_TEST_LIMITS, ProjectSandbox, TestRun
from takeaways_daemon.sandbox.test_reports import TestReport

__all__ = [
    "PROJECT_TEST_LIMITS",
    "UNSAFE_WARNING",
    "Execution",
    "ProjectInterpreter",
    "ProjectSandbox",
    "Sandbox",
    "SandboxLimits",
    "SandboxState",
    "SandboxUnavailable",
    "TestReport",
    "TestRun",
    "find_interpreter",
    "sandbox_python",
    "sandbox_state",
]
