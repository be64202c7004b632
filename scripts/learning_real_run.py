"""The learning loop for real: 30 suggestions accepted through the API, one automatic round.

Run: .venv/bin/python scripts/learning_real_run.py          # writes reports/learning/real-run.*
     .venv/bin/python scripts/learning_real_run.py --timeout-min 60 --accept 30

Everything is the real thing: a fresh TAKEAWAYS_HOME, keys in a throwaway Secret Service, a
scratch project, `takeaways learn on`, a daemon started by `lifecycle.start` (as `takeaways
start` does) serving the packaged gemma-3-270m with the embedded backend, broken files saved
one at a time so that the model proposes fixes, each fix accepted through `DaemonClient`. Then
the script only watches: the daemon's own trigger starts the round (never `learn now`), and
the script records the round's report (stage times, examples, gate numbers, decision), the
daemon's status while it ran, and `takeaways learn list` afterwards.

A round sized for a 2-core machine: `[learning]` in the home's config.toml sets a few optimizer
steps and a small gate. The idle thresholds are loosened (load per core, queue idle time), or a
machine loaded by other work would never look idle to the trigger; the report says so. Replay
rows come from the pipeline's own miner (functions of the standard library), as a base build's
data would. Progress goes to stderr; the whole run is bounded by `--timeout-min`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_keyring import bench_keyring  # noqa: E402
from takeaways_daemon import lifecycle  # noqa: E402
from takeaways_daemon.api_client import ApiError, DaemonClient  # noqa: E402
from takeaways_daemon.wire import DaemonStatus  # noqa: E402

REPORTS = REPO / "reports" / "learning"
ROUND_SETTINGS: dict[str, Any] = {
    "accepted_per_round": 30,
    "max_steps": 8,
    "humaneval_problems": 3,
    "fix_bugs": 3,
    "register_ollama": False,
}
"""`[learning]` for a round that fits a 2-core machine."""
LOOSE_IDLE: dict[str, Any] = {"idle_max_load": 64.0, "idle_queue_s": 20.0, "check_interval_s": 10.0}
"""Idle thresholds loose enough for a machine that other work keeps loaded (defaults: 0.5
load per core, 120 s of empty queue, a check every 30 s)."""
SAMPLING: dict[str, Any] = {"candidates": 2, "seed": 11}
"""Two answers per task at most (default: best of 3), so 30 fixes take minutes, not an hour."""
EMBEDDED: dict[str, Any] = {"n_threads": 1}
"""One llama.cpp thread: on 2 cores shared with other work, 2 threads waiting on each other at
every step were measured ~5x slower than one (1.3 against 4-30 tokens/s here)."""
REPLAY_PER_KIND = 6
SUGGESTION_WAIT_S = 600.0
"""A saved file with no suggestion after this long (queue included) is given up on."""
SAVES_AHEAD = 3
"""Broken files waiting for the daemon at a time, so its queue never runs dry between accepts."""

# Small functions, each saved with its `def` line's colon missing: a syntax error whose fix is
# one short line, the cheapest suggestion for the model to make.
BODIES = (
    ("area", "width, height", "return width * height"),
    ("perimeter", "width, height", "return 2 * (width + height)"),
    ("average", "values", "return sum(values) / len(values)"),
    ("largest", "values", "return max(values)"),
    ("greeting", "name", 'return f"Hello, {name}!"'),
    ("is_even", "number", "return number % 2 == 0"),
    ("square", "number", "return number * number"),
    ("celsius", "fahrenheit", "return (fahrenheit - 32) * 5 / 9"),
    ("word_count", "text", "return len(text.split())"),
    ("first_item", "items", "return items[0] if items else None"),
)


def say(line: str) -> None:
    """Progress, on stderr with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def broken_source(index: int) -> tuple[str, str]:
    """A module of one function whose `def` line lacks its colon, and the function's name."""
    name, params, body = BODIES[index % len(BODIES)]
    function = f"{name}_{index}"
    text = f'"""Helpers, part {index}."""\n\n\ndef {function}({params})\n    {body}\n'
    return text, function


def cli(*args: str, timeout: float = 600) -> str:
    """Run `takeaways ARGS` with this interpreter (the environment carries the home)."""
    launcher = "from takeaways_daemon.cli.main import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", launcher, *args], capture_output=True, text=True, timeout=timeout
    )
    return (done.stdout + done.stderr).rstrip()


def write_config(home: Path, replay: Path) -> Path:
    """config.toml: embedded backend, fix tasks only, and the round's `[learning]` settings."""
    learning = {**ROUND_SETTINGS, **LOOSE_IDLE, "replay_data": str(replay)}
    lines = ['[backend]', 'prefer = ["embedded"]', "", "[tasks]", 'enabled = ["fix"]', "",
             "[sampling]", *(f"{k} = {json.dumps(v)}" for k, v in SAMPLING.items()), "",
             "[backend.embedded]", *(f"{k} = {json.dumps(v)}" for k, v in EMBEDDED.items()), "",
             "[learning]"]  # fmt: skip
    lines += [f"{key} = {json.dumps(value)}" for key, value in learning.items()]
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def mine_replay(path: Path) -> int:
    """Replay rows mined from the standard library by the training pipeline's miner."""
    from training.data.mining.miner import mine_records
    from training.data.mining.source_files import default_roots

    records, _ = mine_records(
        default_roots(site_packages=False), per_kind=REPLAY_PER_KIND, seed=1, progress=False
    )
    rows = [{"instruction": r.instruction, "input": r.input, "output": r.output} for r in records]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return len(rows)


def wait_ready(client: DaemonClient, deadline: float) -> DaemonStatus:
    """The daemon's status once its backend is ready."""
    while True:
        status = client.status()
        if status.backend.state == "ready":
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"backend not ready: {status.backend.state} {status.backend.reason}")
        time.sleep(1)


def accept_fixes(
    client: DaemonClient, project: Path, wanted: int, deadline: float
) -> dict[str, Any]:
    """Save broken files, a few ahead of the daemon, and accept the fix it proposes for each."""
    accepted: list[dict[str, Any]] = []
    pending: dict[str, float] = {}  # file → when it was saved
    saves, no_suggestion, refused = 0, 0, 0
    while len(accepted) < wanted and time.monotonic() < deadline:
        while len(pending) < SAVES_AHEAD and saves < 3 * wanted:
            text, _ = broken_source(saves)
            name = f"helpers_{saves:03d}.py"
            (project / name).write_text(text, encoding="utf-8")
            pending[name] = time.monotonic()
            saves += 1
        if not pending:
            break
        time.sleep(1)
        for suggestion in client.suggestions(status="open"):
            if suggestion.path not in pending or len(accepted) >= wanted:
                continue
            saved = pending.pop(suggestion.path)
            try:
                client.accept(suggestion.id)
            except ApiError as error:
                refused += 1
                say(f"  {suggestion.path}: accept refused ({error})")
                continue
            accepted.append({
                "file": suggestion.path, "title": suggestion.title,
                "generation_ms": round(suggestion.latency_ms),
                "save_to_accept_s": round(time.monotonic() - saved, 1),
            })  # fmt: skip
            say(f"  accepted {len(accepted)}/{wanted}: {suggestion.path} ({suggestion.title})")
        for name, saved in list(pending.items()):
            if time.monotonic() - saved > SUGGESTION_WAIT_S:
                del pending[name]
                no_suggestion += 1
                say(f"  {name}: no suggestion within {SUGGESTION_WAIT_S:.0f} s")
    return {"accepted": accepted, "saves": saves, "no_suggestion": no_suggestion,
            "accept_refused": refused}  # fmt: skip


def ask_after_swap(client: DaemonClient, project: Path, deadline: float) -> dict[str, Any]:
    """One more broken file after the swap: which model answers it, in the same daemon."""
    name = "after_swap.py"
    (project / name).write_text(broken_source(99)[0], encoding="utf-8")
    saved = time.monotonic()
    while time.monotonic() < min(deadline, saved + SUGGESTION_WAIT_S):
        found = [s for s in client.suggestions(status="open") if s.path == name]
        if found:
            say(f"  after the swap, {found[0].model} answered {name}")
            return {"model": found[0].model, "seconds": round(time.monotonic() - saved, 1)}
        time.sleep(2)
    return {"model": None, "seconds": None}


def watch_round(
    client: DaemonClient, report_file: Path, since: float, deadline: float
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Poll the daemon's status until its automatic round ends; the timeline and the report."""
    timeline: list[dict[str, Any]] = []
    last: tuple[object, ...] | None = None
    while time.monotonic() < deadline:
        learning = client.status().learning
        seen = (learning.last_decision, learning.round_running, learning.stage)
        if seen != last:
            last = seen
            timeline.append({"at": round(time.time(), 1), "load_1m": os.getloadavg()[0],
                             **learning.model_dump()})  # fmt: skip
            say(f"  learning: {learning.last_decision}; stage {learning.stage or '-'}")
        if report_file.is_file():
            report = json.loads(report_file.read_text(encoding="utf-8"))
            if report.get("started_at", 0) >= since and not learning.round_running:
                return timeline, report
        time.sleep(5)
    return timeline, None


def run(args: argparse.Namespace, scratch: Path, result: dict[str, Any]) -> None:
    """The whole run; fills `result` with everything the report shows, as it goes."""
    from training.evaluation.benchmark_run import machine_description
    from training.learning.round import last_report_file

    deadline = time.monotonic() + args.timeout_min * 60
    home, project = scratch / "home", scratch / "project"
    project.mkdir(parents=True)
    os.environ["TAKEAWAYS_HOME"] = str(home)
    paths = [str(REPO), os.environ.get("PYTHONPATH")]
    os.environ["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    result |= {
        "machine": machine_description(), "cpu_count": os.cpu_count(),
        "load_at_start": os.getloadavg(), "settings": {**ROUND_SETTINGS, **LOOSE_IDLE},
        "sampling": SAMPLING, "embedded": EMBEDDED,
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
    }  # fmt: skip
    replay = home / "replay.jsonl"
    home.mkdir(parents=True)
    result["replay_rows"] = mine_replay(replay)
    say(f"mined {result['replay_rows']} replay rows from the standard library")
    write_config(home, replay)
    result["learn_on"] = cli("learn", "on")
    say(result["learn_on"])
    started = time.monotonic()
    daemon = lifecycle.start(project, timeout=300)
    say(f"daemon {daemon.pid} answers at {daemon.address}")
    try:
        with DaemonClient.for_project(project, timeout=60) as client:
            before = wait_ready(client, deadline)
            result["daemon_ready_s"] = round(time.monotonic() - started, 1)
            result["served_before"] = before.backend.model_dump()
            say(f"backend ready: {before.backend.name} {before.backend.model}")
            accepting = time.time()
            result["accepting"] = accept_fixes(client, project, args.accept, deadline)
            result["accepting"]["wall_s"] = round(time.time() - accepting, 1)
            count = len(result["accepting"]["accepted"])
            if count < args.accept:
                raise TimeoutError(f"only {count} suggestions accepted before the deadline")
            say("waiting for the daemon's automatic round (the script starts none)")
            waited = time.time()
            timeline, report = watch_round(client, last_report_file(), waited, deadline)
            result["timeline"], result["round"] = timeline, report
            result["round_seen_after_s"] = round(time.time() - waited, 1)
            if report is not None and report.get("decision") == "installed":
                result["after_swap"] = ask_after_swap(client, project, deadline)
            after = client.status()
            result["served_after"] = after.backend.model_dump()
            result["takeaways_status"] = cli("status", str(project))
    finally:
        lifecycle.stop(project, timeout=60)
        say("daemon stopped")
    result["learn_list"] = cli("learn", "list")
    result["learn_status"] = cli("learn", "status")
    round_log = home / "state" / "learning" / "round.log"
    result["round_log_tail"] = (
        round_log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:]
        if round_log.is_file()
        else []
    )


def markdown(result: dict[str, Any]) -> str:
    """The report, every number taken from `result`."""
    round_ = result.get("round") or {}
    accepting = result.get("accepting") or {}
    lines = [
        "# The learning loop, one real run (scripts/learning_real_run.py)", "",
        f"Run {result['started']} on {result['machine']} ({result['cpu_count']} cores), shared "
        f"with other work: 1-minute load {result['load_at_start'][0]:.1f} at the start.", "",
        "Settings (`[learning]` in the fresh home's config.toml): "
        + ", ".join(f"`{k} = {json.dumps(v)}`" for k, v in result["settings"].items()) + ".",
        "The idle thresholds are loosened on purpose: with the defaults (0.5 load per core, "
        "120 s of empty queue) this loaded machine never counts as idle, and no automatic round "
        "would start. The daemon samples at most "
        f"{(result.get('sampling') or {}).get('candidates')} answers per task "
        f"(`[sampling] {json.dumps(result.get('sampling'))}`; default: best of 3) with one "
        f"llama.cpp thread (`[backend.embedded] {json.dumps(result.get('embedded'))}`): on "
        "this oversubscribed machine two threads waiting on each other were several times slower.",
        "",
        "## Accepting suggestions", "",
        f"The daemon (gemma-3-270m, embedded) was ready {result.get('daemon_ready_s', '-')} s "
        f"after `lifecycle.start`. {accepting.get('saves', 0)} broken files saved, "
        f"{len(accepting.get('accepted', []))} fixes accepted through `DaemonClient.accept` in "
        f"{accepting.get('wall_s', '-')} s ({accepting.get('no_suggestion', 0)} saves got no "
        f"suggestion in time, {accepting.get('accept_refused', 0)} accepts refused; "
        f"save → suggestion p50 {_p50(a['generation_ms'] for a in accepting.get('accepted', []))} "
        f"ms, files saved {SAVES_AHEAD} ahead of the daemon).", "",
    ]  # fmt: skip
    if not round_:
        lines += ["## The round", "", f"No round ended before the timeout: {result.get('error')}"]
    else:
        lines += _round_section(result, round_)
    lines += ["", "## `takeaways learn list` after the round", "", "```",
              result.get("learn_list", ""), "```", "",
              "## `takeaways learn status` after the round", "", "```",
              result.get("learn_status", "(not captured)"), "```", "",
              "## `takeaways status` after the round", "", "```",
              result.get("takeaways_status", "(not captured)"), "```"]  # fmt: skip
    if result.get("error"):
        lines += ["", f"Run ended with an error: `{result['error']}`"]
    return "\n".join(lines) + "\n"


def _round_section(result: dict[str, Any], round_: dict[str, Any]) -> list[str]:
    timings = round_.get("timings_s", {})
    data = round_.get("data", {})
    gate = round_.get("gate") or {}
    lines = [
        "## The automatic round", "",
        "Started by the daemon's own trigger about "
        f"{result['round_seen_after_s'] - round_.get('seconds', 0):.0f} s after the last accept "
        f"(the script never runs `learn now`); decision: **{round_.get('decision')}**"
        + (f" ({round_.get('version')})" if round_.get("version") else "") + ".", "",
        "| stage | " + " | ".join(timings) + " | total |",
        "| --- " * (len(timings) + 2) + "|",
        "| wall time (s) | " + " | ".join(f"{v:.1f}" for v in timings.values())
        + f" | {round_.get('seconds', sum(timings.values()))} |", "",
        f"Examples: {round_.get('accepted_new')} accepted seen, {round_.get('used')} used "
        f"(dropped: {json.dumps(round_.get('dropped'))}); {data.get('train_rows')} training rows "
        f"({data.get('replay')} replayed), {data.get('held_out')} held out for the loss check. "
        f"Continued from: {round_.get('continued_from') or 'a new adapter (nothing learned yet)'}; "
        f"{(round_.get('train') or {}).get('steps', '-')} optimizer steps.",
    ]  # fmt: skip
    if gate:
        candidate, served = gate["candidate"], gate["served"]
        lines += ["", "| gate | candidate | served |", "| --- | --- | --- |"]
        for key in ("format_valid", "held_out_loss", "humaneval_pass1", "fix_success"):
            lines.append(f"| {key} | {_number(candidate.get(key))} | {_number(served.get(key))} |")
        lines += [""] + [
            f"- {check['name']}: {'passed' if check['passed'] else 'FAILED'} ({check['detail']})"
            for check in gate["checks"]
        ]
        lines += ["", f"Each model answered {candidate.get('answers')} questions, asked as the "
                  "daemon asks them (`task_decoding.candidate_request`: answer grammar, worked "
                  "example by the model's identity, answer budget; greedy): the held-out bug "
                  "fixes, HumanEval problems as the daemon's `complete` task, and docstring, "
                  "types and explain tasks. `format_valid` is the share the daemon would turn "
                  "into a suggestion. The candidate is asked as the daemon would serve it once "
                  "installed (the built `takeaways` model, so without the worked example); the "
                  f"served model as `{served.get('label')}`."]  # fmt: skip
        if not candidate.get("format_valid") and not served.get("format_valid"):
            lines += ["", "Neither model gave an answer the daemon would turn into a suggestion, "
                      "so the format, fix and HumanEval checks could not tell them apart: the "
                      "held-out loss decided."]  # fmt: skip
    if round_.get("decision") == "rejected":
        lines += _rejection(result, round_)
    if round_.get("error"):
        lines += ["", f"The round failed: `{round_['error']}`"]
    loads = [entry["load_1m"] for entry in result.get("timeline", [])]
    answered = result.get("after_swap")
    before = (result.get("served_before") or {}).get("details", {})
    after = (result.get("served_after") or {}).get("details", {})
    if round_.get("decision") != "installed":
        served = (f"no swap (the `swap` stage only filed the candidate away): the daemon "
                  f"served `{before.get('model')}` before the round and `/status` named "
                  f"`{after.get('model')}` after it.")  # fmt: skip
    elif answered:
        served = (f"it served `{before.get('model')}` before the round; a file saved after the "
                  f"swap was answered by `{answered['model']}` ({answered['seconds']} s), and "
                  f"`/status` then named `{after.get('model')}`.")  # fmt: skip
    else:
        served = (f"it served `{before.get('model')}` before the round; no file was saved after "
                  f"the swap in this run, so `/status` still named `{after.get('model')}` (the "
                  "backend reloads a swapped GGUF before its next request; the tests check "
                  "that reload).")  # fmt: skip
    lines += [
        "", f"1-minute load while the round ran: {min(loads):.1f} to {max(loads):.1f} "
        f"(2 cores; other helpers' tests and benchmarks ran beside it)." if loads else "",
        f"The daemon was never restarted; {served}",
        "", "What the daemon's status said about learning, as it changed:", "",
        "| time (UTC) | decision | running | stage | load |", "| --- | --- | --- | --- | --- |",
    ]  # fmt: skip
    for entry in result.get("timeline", []):
        at = time.strftime("%H:%M:%S", time.gmtime(entry["at"]))
        lines.append(f"| {at} | {entry['last_decision']} | {entry['round_running']} | "
                     f"{entry['stage'] or '-'} | {entry['load_1m']:.1f} |")  # fmt: skip
    return lines


def _rejection(result: dict[str, Any], round_: dict[str, Any]) -> list[str]:
    """Why the gate kept the candidate out, and what each model answered, from the round's log."""
    gate = round_.get("gate") or {}
    answers = (gate.get("candidate") or {}).get("answers") or 0
    kept = Path(round_.get("kept_for_inspection") or "-")
    served = ((result.get("served_after") or {}).get("details") or {}).get("model")
    lines = [
        "", "### Why the gate rejected the candidate", "",
        "Failed checks (any one keeps the candidate out): "
        + "; ".join(f"`{reason}`" for reason in round_.get("rejected_because", [])) + ". "
        f"The served model stays (`{served}`); the candidate is kept for inspection under "
        f"`models/versions/rejected/{kept.name}` and is not listed by `takeaways learn list`.",
    ]  # fmt: skip
    outcomes = gate_outcomes(result.get("round_log_tail", []))
    if len(outcomes) == 2:
        (first, first_rows), (second, second_rows) = outcomes.items()
        lines += ["", "What each model answered (the round's log; `no suggestion`: the daemon "
                  "would have dropped the answer, and the file stays as it was):", "",
                  f"| question | {first} | {second} |", "| --- | --- | --- |"]  # fmt: skip
        theirs = dict(second_rows)
        lines += [f"| {check} `{path}` | {outcome} | {theirs.get((check, path), '-')} |"
                  for (check, path), outcome in first_rows]  # fmt: skip
        differ = [f"{check} `{path}` ({first}: {outcome}; {second}: {theirs.get((check, path))})"
                  for (check, path), outcome in first_rows
                  if outcome != theirs.get((check, path))]  # fmt: skip
        lines += ["", f"The two models' answers differ on {len(differ)} of {len(first_rows)} "
                  "questions" + (": " + "; ".join(differ) if differ else "") + "."]  # fmt: skip
    if answers:
        lines += ["", f"With {answers} questions a model, one answer moves `format_valid` by "
                  f"{1 / answers:.3f}, and one of the {result['settings'].get('fix_bugs')} "
                  "held-out bugs moves `fix_success` by "
                  f"{1 / max(1, result['settings'].get('fix_bugs') or 1):.3f}: this small "
                  "gate (sized for 2 cores) decides on very few answers, and with zero margins "
                  "one answer fewer is enough to reject."]  # fmt: skip
    return lines


def gate_outcomes(log: list[str]) -> dict[str, list[tuple[tuple[str, str], str]]]:
    """Each gate model's answers as the round's log names them: label → ((check, file), outcome)."""
    models: dict[str, list[tuple[tuple[str, str], str]]] = {}
    current: list[tuple[tuple[str, str], str]] | None = None
    for line in log:
        asked = re.fullmatch(r" {6}(\S.*): \d+ questions .*", line)
        answer = re.fullmatch(r" {8}(fix|humaneval|format) (\S+): (.+)", line)
        if asked:
            current = models.setdefault(asked.group(1), [])
        elif answer and current is not None:
            current.append(((answer.group(1), answer.group(2)), answer.group(3)))
        elif not line.startswith(" " * 8):
            current = None
    return models


def _p50(values: Any) -> str:
    ordered = sorted(values)
    return str(ordered[len(ordered) // 2]) if ordered else "-"


def _number(value: object) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def main() -> None:
    """Run, then write reports/learning/real-run.md and .json whatever happened."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accept", type=int, default=30, help="suggestions to accept")
    parser.add_argument("--timeout-min", type=float, default=100.0, help="bound on the whole run")
    parser.add_argument("--out", type=Path, default=REPORTS, help="folder for real-run.md/.json")
    parser.add_argument("--keep", action="store_true", help="keep the scratch home and project")
    parser.add_argument("--render", type=Path, help="only rewrite real-run.md from this JSON")
    args = parser.parse_args()
    if args.render:
        (args.out / "real-run.md").write_text(markdown(json.loads(args.render.read_text())))
        return
    # Started in the background (`nohup … &`), SIGINT may be ignored: both signals end the run
    # through the `finally` blocks below, which stop the daemon and write the report.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    scratch = Path(tempfile.mkdtemp(prefix="takeaways-learn-real-"))
    result: dict[str, Any] = {}
    try:
        with bench_keyring() as keyring_line:
            say(keyring_line)
            try:
                run(args, scratch, result)
            except Exception as error:  # the report records how far it got
                result["error"] = f"{type(error).__name__}: {error}"
                say(f"run failed: {result['error']}")
                raise
    finally:
        args.out.mkdir(parents=True, exist_ok=True)
        if result:
            (args.out / "real-run.json").write_text(json.dumps(result, indent=1, default=str))
            if "machine" in result:
                (args.out / "real-run.md").write_text(markdown(result))
        say(f"wrote {args.out}/real-run.md and real-run.json")
        if args.keep:
            say(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
