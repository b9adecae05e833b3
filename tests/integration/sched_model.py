#!/usr/bin/env python3
# sched_model.py: random DAGs checked against the rules.  Each case is a
# DAG of 30 tasks, each depending on up to three earlier ones, with random
# trigger rules and random outcomes: success, a failure (retried once, or
# exit 65, not retried), a skip (exit 99), or a failure its retry mends.
# It runs under `sta dags test` with max_active_tasks 1 to 3, every task
# logging its start and end.  A trigger rule decides as soon as the verdict
# is certain (runner/rules.c, as Airflow's flag_upstream_failed), so with a
# skip and a failure upstream the verdict depends on which finished first:
# each task must end in a state its rule reaches, for some order in which
# its upstream tasks (in their final states) finish; one that ran must have
# run exactly as often as its command makes it (twice when retried) and end
# as its command says; the run must fail exactly when a leaf failed.  No
# task may start before its upstream tasks allow it (a rule that waits for
# all of them: after they all ended; one_success: after one succeeded;
# one_failed: after one failed), nor be recorded so in the store (its
# start before an upstream task's end, for a rule that waits for all of
# them), more than max_active_tasks may never run at once, and no try may
# be left queued or running.  Tasks are handed
# ahead behind their upstream tasks and dropped when those do not succeed:
# the cases must have done both.
#
# STA_MODEL_SEED (default 1) and STA_MODEL_CASES (default 10) choose the
# cases.  Prints TAP.
import itertools
import os
import random
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fakes"))
from tap import ok, run_main  # noqa: E402

STA = os.environ["STA"]
SEED = int(os.environ.get("STA_MODEL_SEED", "1"))
CASES = int(os.environ.get("STA_MODEL_CASES", "10"))
N = 30
W = tempfile.mkdtemp(prefix="sta-model.")

RULES = ["all_failed", "all_done", "one_success", "one_failed", "none_failed",
         "none_failed_min_one_success", "none_skipped", "always"]
# rules whose "run" needs every upstream task finished
WAIT_ALL = {"all_success", "all_failed", "all_done", "none_failed",
            "none_failed_min_one_success", "none_skipped"}
STEP = """#!/bin/sh
# step.sh LOG TASK SECONDS STATUS [MARK]: logs the start and end to LOG and
# exits STATUS; with MARK, the first try (MARK not there yet) exits 1
echo "S $2 $(date +%s%N)" >> "$1"
sleep "$3"
status=$4
if [ -n "$5" ] && [ ! -e "$5" ]; then : > "$5"; status=1; fi
echo "E $2 $(date +%s%N)" >> "$1"
exit "$status"
"""


def verdict(rule, done, total):
    """The trigger rule's verdict when the upstream tasks in done (their
    states) of total have finished: 'wait', 'run', 'skipped' or
    'upstream_failed' (runner/rules.c: decided as soon as it is certain,
    as Airflow's flag_upstream_failed does)."""
    success = done.count("success")
    skipped = done.count("skipped")
    failures = done.count("failed") + done.count("upstream_failed")
    all_done = len(done) == total
    if total == 0 or rule == "always":
        return "run"
    if rule == "all_success":
        return ("upstream_failed" if failures else "skipped" if skipped else
                "run" if success == total else "wait")
    if rule == "all_failed":
        return "skipped" if success or skipped else "run" if failures == total else "wait"
    if rule == "all_done":
        return "run" if all_done else "wait"
    if rule == "one_success":
        return ("run" if success else "wait" if not all_done else
                "skipped" if skipped == len(done) else "upstream_failed")
    if rule == "one_failed":
        return "run" if failures else "skipped" if all_done else "wait"
    if rule == "none_failed":
        return "upstream_failed" if failures else "run" if all_done else "wait"
    if rule == "none_failed_min_one_success":
        return ("upstream_failed" if failures else "wait" if not all_done else
                "skipped" if skipped == total else "run")
    if rule == "none_skipped":
        return "skipped" if skipped else "run" if all_done else "wait"
    raise ValueError(rule)


def verdicts(rule, ups):
    """The verdicts a task may reach given its upstream tasks' final
    states: the first one decided, for every order they may finish in."""
    out = set()
    for order in itertools.permutations(ups):
        for n in range(len(order) + 1):
            v = verdict(rule, list(order[:n]), len(order))
            if v != "wait":
                out.add(v)
                break
    return out


def make_case(rng):
    """A random DAG: (tasks, max_active_tasks); each task a dict."""
    tasks = []
    for i in range(N):
        ups = sorted(rng.sample(range(i), min(i, rng.choice([0, 1, 1, 1, 2, 3]))))
        rule = "all_success" if rng.random() < 0.6 else rng.choice(RULES)
        kind = rng.choices(["ok", "fail", "final", "skip", "mend"], [70, 8, 5, 9, 8])[0]
        tasks.append({"id": f"t{i}", "ups": ups, "rule": rule, "kind": kind,
                      "sleep": rng.choice(["0", "0.02", "0.05", "0.1"])})
    return tasks, rng.choice([1, 2, 2, 3])


def check(tasks, got, spans):
    """Faults of a finished run against the rules: each task decided as
    its trigger rule allows, given its upstream tasks' final states; one
    that ran ends and runs as its command makes it."""
    faults = []
    for t in tasks:
        ups = [got[tasks[u]["id"]] for u in t["ups"]]
        allowed = verdicts(t["rule"], ups)
        ran = len(spans.get(t["id"], []))
        state = got[t["id"]]
        if ran:
            want = {"ok": "success", "mend": "success", "skip": "skipped"}.get(t["kind"], "failed")
            runs = 2 if t["kind"] in ("mend", "fail") else 1
            if "run" not in allowed or state != want or ran != runs:
                faults.append(f"{t['id']} ({t['rule']} of {ups}, {t['kind']}): ran {ran} "
                              f"times, {state}; want {runs}, {want}, and may run: "
                              f"{'run' in allowed}")
        elif state not in allowed:
            faults.append(f"{t['id']} ({t['rule']} of {ups}): {state} without running, "
                          f"want one of {sorted(allowed)}")
    return faults


def write_dag(k, tasks, slots, log):
    lines = [f"dag_id: model{k}", f"max_active_tasks: {slots}", "tasks:"]
    step = os.path.join(W, "step.sh")
    for t in tasks:
        status = {"ok": 0, "mend": 0, "skip": 99, "fail": 1, "final": 65}[t["kind"]]
        argv = [step, log, t["id"], t["sleep"], str(status)]
        if t["kind"] == "mend":
            argv.append(os.path.join(W, f"mark{k}_{t['id']}"))
        lines.append(f"  {t['id']}:")
        lines.append("    command: [" + ", ".join(f'"{a}"' for a in argv) + "]")
        if t["ups"]:
            lines.append("    depends_on: [" + ", ".join(tasks[u]["id"] for u in t["ups"]) + "]")
        if t["rule"] != "all_success":
            lines.append(f"    trigger_rule: {t['rule']}")
        if t["kind"] in ("mend", "fail"):
            lines.append("    retries: 1")
            lines.append("    retry_delay: 0s")
    with open(os.path.join(W, "dags", f"model{k}.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")


def read_log(log):
    """{task: [(start, end), ...]} in time order (ns)."""
    starts, spans = {}, {}
    if not os.path.exists(log):
        return spans
    with open(log) as f:
        for line in f:
            what, task, ns = line.split()
            if what == "S":
                starts.setdefault(task, []).append(int(ns))
            else:
                spans.setdefault(task, []).append((starts[task].pop(0), int(ns)))
    return {t: sorted(v) for t, v in spans.items()}


def order_faults(tasks, spans, state):
    """Tasks that started before their upstream tasks allowed it."""
    bad = []
    for t in tasks:
        if t["id"] not in spans or not t["ups"] or t["rule"] == "always":
            continue
        first = spans[t["id"]][0][0]
        ups = [tasks[u]["id"] for u in t["ups"]]
        if t["rule"] in WAIT_ALL:
            need = max(spans[u][-1][1] for u in ups if u in spans) if any(u in spans for u in ups) else 0
        else:
            want = "success" if t["rule"] == "one_success" else "failed"
            ends = [spans[u][-1][1] for u in ups if state[u] == want and u in spans]
            need = min(ends) if ends else 0
        if first <= need:
            bad.append(t["id"])
    return bad


def most_at_once(spans):
    events = sorted([(s, 1) for v in spans.values() for s, _ in v] +
                    [(e, -1) for v in spans.values() for _, e in v])
    n = top = 0
    for _, d in events:
        n += d
        top = max(top, n)
    return top


def main():
    os.makedirs(os.path.join(W, "dags"))
    step = os.path.join(W, "step.sh")
    with open(step, "w") as f:
        f.write(STEP)
    os.chmod(step, 0o755)
    env = dict(os.environ, STA_HOME=os.path.join(W, "home"),
               STA_DAGS_FOLDER=os.path.join(W, "dags"))
    rng = random.Random(SEED)
    dropped = handed = 0
    for k in range(CASES):
        tasks, slots = make_case(rng)
        log = os.path.join(W, f"log{k}")
        write_dag(k, tasks, slots, log)
        name = f"case {k} (seed {SEED}, max_active_tasks {slots})"
        p = subprocess.run([STA, "dags", "test", f"model{k}", "2024-01-01"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300)
        db = sqlite3.connect(os.path.join(W, "home", "sta.db"))
        got = dict(db.execute(
            "select ti.task_id, ti.state from task_instances ti join dag_runs r "
            "on r.id = ti.run_pk where r.dag_id = ?", (f"model{k}",)))
        leaves = [t["id"] for i, t in enumerate(tasks)
                  if not any(i in u["ups"] for u in tasks)]
        run_failed = any(got.get(t) in ("failed", "upstream_failed") for t in leaves)
        ok(p.returncode == (1 if run_failed else 0),
           f"{name}: the run {'fails' if run_failed else 'succeeds'}, as its leaves say",
           p.stdout[-2000:])
        spans = read_log(log)
        faults = check(tasks, got, spans) if len(got) == N else ["not every task is there"]
        ok(not faults, f"{name}: every task is decided, and runs, as its rule says",
           "\n".join(faults))
        bad = order_faults(tasks, spans, got)
        ok(not bad, f"{name}: no task starts before its upstream tasks allow it",
           ", ".join(bad))
        times = {t: (a, b) for t, a, b in db.execute(
            "select ti.task_id, ti.start_ms, ti.end_ms from task_instances ti join dag_runs r "
            "on r.id = ti.run_pk where r.dag_id = ?", (f"model{k}",))}
        bad = [t["id"] for t in tasks if t["id"] in spans and t["rule"] in WAIT_ALL and
               any(times[t["id"]][0] < times[tasks[u]["id"]][1] for u in t["ups"])]
        ok(not bad, f"{name}: the store has no task starting before an upstream task's end",
           ", ".join(f"{t}: {times[t]}" for t in bad))
        top = most_at_once(spans)
        ok(top <= slots, f"{name}: at most {slots} tasks at once ({top})")
        left = db.execute("select count(*) from task_tries t join task_instances ti on "
                          "ti.id = t.ti_pk join dag_runs r on r.id = ti.run_pk where "
                          "r.dag_id = ? and t.state in ('queued', 'running')",
                          (f"model{k}",)).fetchone()[0]
        ok(left == 0, f"{name}: no try is left queued or running ({left})")
        for detail, in db.execute("select detail from audit_log where dag_id = ? and "
                                  "action = 'ti_state'", (f"model{k}",)):
            handed += '"queued"' in detail
            dropped += "handed ahead, not started" in detail
        db.close()
    ok(handed > 0 and dropped > 0,
       f"tasks were handed ahead ({handed}) and some dropped when their upstream "
       f"task did not succeed ({dropped})")


if __name__ == "__main__":
    run_main(main, W)
