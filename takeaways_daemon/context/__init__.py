"""Pure context extraction: from a file's old and new text to the tasks worth asking about."""

from takeaways_daemon.context.changes import changed_lines
from takeaways_daemon.context.task_planner import plan_file_tasks, plan_tasks

__all__ = ["changed_lines", "plan_file_tasks", "plan_tasks"]
