"""Fix evidence and checks: where a real bug shows (ruff, failing tests) and whether a fix holds.

- `diagnostics`: ruff's bug-finding rules on one file's text;
- `last_failed` and `test_failures`: pytest's record of failing tests, re-run in the sandbox for
  their tracebacks, and the project function each failure points at (`failure_target`);
- `nearness`: how big a candidate's change is, and whether it strays from its evidence;
- `verdict`: `verify_candidate`, which re-checks the evidence on a candidate.
"""
