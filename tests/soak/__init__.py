"""Reliability of playbooks/configure.yml over many storage accounts, proven against the emulator:

1. faults: throttling (429 with Retry-After), 503s, dropped connections, directory replication and
   Graph visibility delays; one run makes every account ready, a second run writes nothing;
   the requests it took, against the same run without faults;
2. interruptions: runs killed (SIGKILL to the whole process group) after a seeded random number
   of the writes an uninterrupted run makes; a new run after each kill finishes the job, and a
   further run writes nothing;
3. concurrency: two runs over overlapping inventories, started at once, end in the state one run
   gives, with no failed host.

run_soak(config, out_dir) runs the three and returns (and writes) the figures; each experiment's
`problems` list is empty when everything held. `python -m tests.soak` is the command line."""
from __future__ import annotations

import json
import os
import platform
import random
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from importlib import metadata

from tests.emulator import EmulatorProcess
from tests.scale import world as W
from tests.scale.run import PlaybookRun, Started, configure


@dataclass(frozen=True)
class Config:
    name: str
    accounts: int
    tenants: int = 2
    forks: int = 10
    seed: int = 0
    rate_429: float = 0.10
    rate_503: float = 0.05
    rate_drop: float = 0.02
    retry_after: int = 1
    principal_replication_seconds: float = 30
    graph_visibility_seconds: float = 10
    kill_accounts: int = 6
    kills: int = 10
    # the two overlapping inventories of the concurrency experiment, as fractions of the accounts
    concurrent_split: tuple[float, float] = (0.7, 0.3)
    run_timeout: float = 3600

    def faults(self, seed: int | None = None) -> dict:
        return {
            "seed": self.seed if seed is None else seed,
            "rate_429": self.rate_429,
            "rate_503": self.rate_503,
            "rate_drop": self.rate_drop,
            "retry_after": self.retry_after,
            "principal_replication_seconds": self.principal_replication_seconds,
            "graph_visibility_seconds": self.graph_visibility_seconds,
        }


FULL = Config(name="full", accounts=100, forks=20, kill_accounts=6, kills=10)
SHORT = Config(
    name="short", accounts=6, forks=6, kill_accounts=2, kills=3,
    principal_replication_seconds=6, graph_visibility_seconds=3,
)
NO_FAULTS = {
    "rate_429": 0.0, "rate_503": 0.0, "rate_drop": 0.0,
    "principal_replication_seconds": 0, "graph_visibility_seconds": 0,
}


# ---------------------------------------------------------------------------------- the log
def request_kind(entry: dict) -> str:
    """token, graph read/write, arm read/write, or what else the entry is."""
    if entry["kind"] == "entra":
        return "token" if entry["path"].endswith("/token") else "sign-in discovery"
    if entry["kind"] in ("graph", "arm"):
        return f"{entry['kind'].replace('arm', 'ARM').replace('graph', 'Graph')} {'write' if entry['write'] else 'read'}"
    return entry["kind"]


def _key(entry: dict) -> tuple:
    return entry["method"], entry["path"].lower(), entry.get("query") or ""


def resent(log: list[dict], window: float = 90.0) -> tuple[int, int]:
    """(faulted requests sent again, faulted requests never sent again): a faulted request counts as
    re-sent when the same method, path and query come again within `window` seconds."""
    again = never = 0
    for index, entry in enumerate(log):
        if not entry.get("fault"):
            continue
        key, deadline = _key(entry), entry["time"] + window
        if any(_key(e) == key for e in log[index + 1:] if e["time"] <= deadline):
            again += 1
        else:
            never += 1
    return again, never


def request_figures(log: list[dict]) -> dict:
    kinds = Counter(request_kind(e) for e in log)
    faults = Counter(str(e["fault"]) for e in log if e.get("fault"))
    again, never = resent(log)
    return {
        "requests": len(log),
        "by_kind": dict(sorted(kinds.items())),
        "faulted_replies": dict(sorted(faults.items())),
        "faulted_total": sum(faults.values()),
        "resent": again,
        "faulted_not_resent": never,
        "principal_not_found": sum(
            1 for e in log if e["status"] == 400 and "PrincipalNotFound" in json.dumps(e.get("response_body") or {})
        ),
        "role_assignment_exists": sum(
            1 for e in log if e["status"] == 409 and e["kind"] == "arm"
        ),
        "service_principal_posts": sum(
            1 for e in log if e["kind"] == "graph" and e["method"] == "POST" and "serviceprincipals" in e["path"].lower()
        ),
        "graph_conflicts": sum(1 for e in log if e["kind"] == "graph" and e["status"] == 409),
        "writes_accepted": sum(1 for e in log if e["write"] and e["status"] and e["status"] < 400),
    }


# ---------------------------------------------------------------------------------- comparing
def normal_form(state: dict) -> dict:
    """The state without what legitimately differs between two runs: V7's object ids (created
    per run), role assignment names, and the order of lists that have none."""
    v7_ids = {
        sp["object_id"].lower()
        for t in state["tenants"] for sp in t["service_principals"] if sp["app_id"].lower() == W.V7_APP_ID
    }
    tenants = {}
    for t in state["tenants"]:
        accounts = {}
        for sub in t["subscriptions"]:
            for group in sub["resource_groups"]:
                for acct in group["storage_accounts"]:
                    accounts[acct["name"]] = {
                        "containers": sorted(acct["containers"]),
                        "cors_rules": [W.normal_rule(r) for r in acct.get("cors_rules") or []],
                        "network_acls": acct["network_acls"],
                    }
        assignments = sorted(
            ("V7" if ra["principal_id"].lower() in v7_ids else ra["principal_id"].lower(), ra["role"].lower(),
             ra["scope"].lower(), ra["principal_type"])
            for ra in t["role_assignments"]
        )
        tenants[t["id"]] = {
            "v7_service_principals": sum(1 for sp in t["service_principals"] if sp["app_id"].lower() == W.V7_APP_ID),
            "accounts": accounts,
            "role_assignments": [list(a) for a in assignments],
        }
    return tenants


def differences(expected: dict, actual: dict, path: str = "") -> list[str]:
    """Where two normal forms differ, in words (at most a few per branch)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual), key=str):
            if key not in actual:
                out.append(f"{path}/{key}: missing")
            elif key not in expected:
                out.append(f"{path}/{key}: unexpected")
            else:
                out += differences(expected[key], actual[key], f"{path}/{key}")
        return out
    if expected != actual:
        if isinstance(expected, list) and isinstance(actual, list):
            gone = [x for x in expected if x not in actual][:3]
            extra = [x for x in actual if x not in expected][:3]
            return [f"{path}: missing {gone} unexpected {extra} ({len(expected)} vs {len(actual)} items)"]
        return [f"{path}: {expected!r} != {actual!r}"]
    return []


# ---------------------------------------------------------------------------------- running
class Bench:
    """The emulator, the world and the runs' scratch space of one soak."""

    def __init__(self, config: Config, workdir: str):
        self.config = config
        self.workdir = workdir
        self.world = W.build_world(config.accounts, config.tenants, seed=config.seed)
        state_file = os.path.join(workdir, "world.json")
        with open(state_file, "w", encoding="utf-8") as handle:
            json.dump(self.world.state, handle)
        os.makedirs(os.path.join(workdir, "emulator"), exist_ok=True)
        self.emulator = EmulatorProcess(state_file, workdir=os.path.join(workdir, "emulator"))
        # nobody else reads the emulator's stderr: a full pipe would stall it
        threading.Thread(target=self.emulator.proc.stderr.read, daemon=True).start()
        self.inventory = W.write_inventory(self.world, os.path.join(workdir, "inventory-all"))
        # its own activation directory, so that the run with faults writes its files too
        self.baseline_inventory = W.write_inventory(self.world, os.path.join(workdir, "inventory-baseline"))
        self._runs = 0

    def fresh(self, world: W.World, faults: dict) -> None:
        """The world as it was before any run, with these faults; log cleared."""
        self.emulator.load_state(world.state)
        self.emulator.faults(**faults)
        self.emulator.clear_log()

    def configure(self, inventory: str) -> PlaybookRun:
        self._runs += 1
        return configure(self.emulator.env(), inventory, forks=self.config.forks,
                         timeout=self.config.run_timeout, workdir=os.path.join(self.workdir, f"run{self._runs}"))

    def start(self, inventory: str) -> Started:
        self._runs += 1
        return Started(self.emulator.env(), inventory, forks=self.config.forks,
                       workdir=os.path.join(self.workdir, f"run{self._runs}"))

    def last_seq(self) -> int:
        log = self.emulator.log(bodies=False)
        return log[-1]["seq"] if log else 0

    def close(self) -> None:
        self.emulator.stop()


def _run_figures(run: PlaybookRun) -> dict:
    return {
        "rc": run.returncode,
        "seconds": round(run.seconds, 1),
        "failed_hosts": run.failed_hosts,
        "changed_tasks": run.changed,
        "hosts": len(run.recap),
    }


def _run_problems(label: str, run: PlaybookRun, hosts: int) -> list[str]:
    problems = []
    if run.returncode != 0:
        problems.append(f"{label}: ansible-playbook exited {run.returncode}")
    if run.failed_hosts:
        problems.append(f"{label}: failed hosts {run.failed_hosts}: {_first_failure(run.stdout)}")
    if len(run.recap) != hosts:
        problems.append(f"{label}: the PLAY RECAP lists {len(run.recap)} hosts, not {hosts}")
    return problems


def _first_failure(stdout: str) -> str:
    for line in stdout.splitlines():
        if line.startswith("fatal:") or "FAILED!" in line:
            return line[:600]
    return "(no failure line)"


def _second_run_problems(label: str, run: PlaybookRun, writes: list[dict]) -> list[str]:
    problems = []
    if writes:
        shown = [f"{w['method']} {w['path']} -> {w['status']}" for w in writes[:5]]
        problems.append(f"{label}: {len(writes)} write requests: {shown}")
    if run.changed:
        changed = {h: c["changed"] for h, c in run.recap.items() if c.get("changed")}
        problems.append(f"{label}: changed tasks {changed}")
    return problems


def experiment_faults(bench: Bench) -> dict:
    config, world, emulator = bench.config, bench.world, bench.emulator
    bench.fresh(world, {"seed": config.seed, **NO_FAULTS})
    baseline = bench.configure(bench.baseline_inventory)
    baseline_log = emulator.log()
    problems = _run_problems("run without faults", baseline, len(world.accounts))
    problems += [f"run without faults: {p}" for p in W.world_problems(world, emulator.state())]

    bench.fresh(world, config.faults())
    first = bench.configure(bench.inventory)
    first_log = emulator.log()
    state = emulator.state()
    problems += _run_problems("run with faults", first, len(world.accounts))
    problems += [f"run with faults: {p}" for p in W.world_problems(world, state)]
    mark = bench.last_seq()
    second = bench.configure(bench.inventory)
    second_log = emulator.log(since=mark)
    problems += _run_problems("second run with faults", second, len(world.accounts))
    problems += _second_run_problems("second run with faults", second, [e for e in second_log if e["write"]])
    injected = emulator.faults()["injected"]
    return {
        "problems": problems,
        "without_faults": {**_run_figures(baseline), **request_figures(baseline_log)},
        "with_faults": {**_run_figures(first), **request_figures(first_log)},
        "second_run": {**_run_figures(second), **request_figures(second_log)},
        "injected_total": injected,
        "single_run_state": normal_form(state),
    }


def _last_task(stdout: str) -> str:
    tasks = [line for line in stdout.splitlines() if line.startswith("TASK [")]
    return tasks[-1][6:].split("]")[0] if tasks else "(before the first task)"


def kill_points(config: Config, reference_writes: int) -> list[int]:
    """Seeded numbers of accepted writes after which the runs are killed, one in each of `kills`
    equal slices of the uninterrupted run's writes, from after the first to before the last. A
    count of writes, not a moment: the kills land among the writes however loaded the machine is."""
    rng = random.Random(config.seed)
    inner = max(reference_writes - 1, 1)
    width = inner / config.kills
    return [min(inner, 1 + int(width * (n + rng.random()))) for n in range(config.kills)]


def _accepted_writes(log: list[dict]) -> int:
    return sum(1 for e in log if e["write"] and e["status"] and e["status"] < 400)


def _interrupted_run(bench: Bench, world: W.World, inventory: str, writes: int, faults: dict) -> PlaybookRun:
    """A run from the fresh world, killed as soon as the emulator has accepted `writes` writes (the
    next request may be in flight: the kill does not wait for it)."""
    bench.fresh(world, faults)
    started = bench.start(inventory)
    while started.proc.poll() is None:
        if _accepted_writes(bench.emulator.log(bodies=False)) >= writes:
            started.kill()
            break
        time.sleep(0.05)
    return started.wait()


def experiment_kills(bench: Bench) -> dict:
    config = bench.config
    world = W.build_world(config.kill_accounts, config.tenants, seed=config.seed + 1)
    inventory = W.write_inventory(world, os.path.join(bench.workdir, "inventory-kills"))
    bench.fresh(world, config.faults(seed=config.seed))
    reference = bench.configure(inventory)
    problems = _run_problems("uninterrupted run", reference, len(world.accounts))
    reference_writes = _accepted_writes(bench.emulator.log(bodies=False))
    cycles = []
    for number, planned in enumerate(kill_points(config, reference_writes), start=1):
        killed = _interrupted_run(bench, world, inventory, planned, config.faults(seed=config.seed + number))
        label = f"kill {number} (after {planned} writes)"
        cycle = {
            "after_writes": planned,
            "seconds": round(killed.seconds, 1),
            "killed": killed.killed,
            "last_task": _last_task(killed.stdout),
            "writes_before_kill": _accepted_writes(bench.emulator.log(bodies=False)),
            "problems_after_kill": len(W.world_problems(world, bench.emulator.state())),
        }
        if not killed.killed:
            problems.append(f"{label}: the run had finished before its kill")
        recovery = bench.configure(inventory)
        problems += _run_problems(f"{label}: recovery run", recovery, len(world.accounts))
        problems += [f"{label}: after the recovery run: {p}" for p in W.world_problems(world, bench.emulator.state())]
        mark = bench.last_seq()
        further = bench.configure(inventory)
        further_writes = [e for e in bench.emulator.log(since=mark, bodies=False) if e["write"]]
        problems += _run_problems(f"{label}: further run", further, len(world.accounts))
        problems += _second_run_problems(f"{label}: further run", further, further_writes)
        cycle.update({
            "recovery_seconds": round(recovery.seconds, 1),
            "recovery_failed_hosts": recovery.failed_hosts,
            "further_writes": len(further_writes),
            "further_changed": further.changed,
        })
        cycles.append(cycle)
    return {
        "accounts": len(world.accounts),
        "reference_seconds": round(reference.seconds, 1),
        "reference_writes": reference_writes,
        "problems": problems,
        "cycles": cycles,
    }


def experiment_concurrent(bench: Bench, single_run_state: dict | None) -> dict:
    config, world = bench.config, bench.world
    count = len(world.accounts)
    first_part, second_start = config.concurrent_split
    one = W.subset(world, range(0, round(count * first_part)))
    two = W.subset(world, range(round(count * second_start), count))
    inventories = [W.write_inventory(part, os.path.join(bench.workdir, f"inventory-concurrent-{n}"))
                   for n, part in ((1, one), (2, two))]
    bench.fresh(world, config.faults(seed=config.seed + 100))
    started = [bench.start(inventory) for inventory in inventories]
    runs = [s.wait(config.run_timeout) for s in started]
    log = bench.emulator.log()
    state = bench.emulator.state()
    problems = []
    for n, (run, part) in enumerate(zip(runs, (one, two)), start=1):
        problems += _run_problems(f"concurrent run {n}", run, len(part.accounts))
    problems += [f"after both runs: {p}" for p in W.world_problems(world, state)]
    if single_run_state is not None:
        problems += [f"differs from one run: {d}" for d in differences(single_run_state, normal_form(state))]
    overlap = sorted({a["name"] for a in one.accounts} & {a["name"] for a in two.accounts})
    return {
        "problems": problems,
        "inventories": [f"accounts 0-{len(one.accounts) - 1}", f"accounts {count - len(two.accounts)}-{count - 1}"],
        "overlap": len(overlap),
        "compared_with_one_run": single_run_state is not None,
        "runs": [_run_figures(run) for run in runs],
        "seconds": round(max(run.seconds for run in runs), 1),
        **request_figures(log),
    }


# ---------------------------------------------------------------------------------- report
def machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "ansible_core": metadata.version("ansible-core"),
        "platform": platform.platform(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


EXPERIMENTS = ("faults", "concurrent", "kills")


def _faults_markdown(f: dict) -> list[str]:
    base, hit, second = f["without_faults"], f["with_faults"], f["second_run"]
    runs = (base, hit, second)

    def row(label: str, get) -> str:
        return f"| {label} | " + " | ".join(str(get(r)) for r in runs) + " |"

    kinds = sorted(set(base["by_kind"]) | set(hit["by_kind"]) | set(second["by_kind"]))
    lines = [
        "| configure run | without faults | with faults | second run (faults) |",
        "|---|---:|---:|---:|",
        row("wall time (s)", lambda r: r["seconds"]),
        row("requests", lambda r: r["requests"]),
    ]
    lines += [row(f"- {kind}", lambda r, k=kind: r["by_kind"].get(k, 0)) for kind in kinds]
    lines += [row(f"faulted replies: {name}", lambda r, n=name: r["faulted_replies"].get(n, 0))
              for name in ("429", "503", "drop")]
    lines += [
        row("faulted requests re-sent", lambda r: r["resent"]),
        row("faulted requests not re-sent", lambda r: r["faulted_not_resent"]),
        row("400 PrincipalNotFound (replication)", lambda r: r["principal_not_found"]),
        row("Graph 409 (service principal exists)", lambda r: r["graph_conflicts"]),
        row("writes accepted", lambda r: r["writes_accepted"]),
        row("changed tasks", lambda r: r["changed_tasks"]),
        row("failed hosts", lambda r: len(r["failed_hosts"])),
        "",
    ]
    return lines


def _kills_markdown(k: dict) -> list[str]:
    lines = [
        f"Interruptions: {len(k['cycles'])} runs over {k['accounts']} accounts, same faults, killed "
        f"(SIGKILL to the process group) as soon as the emulator had accepted a seeded number of writes, "
        f"spread over the {k['reference_writes']} writes of an uninterrupted run ({k['reference_seconds']} s); "
        "after each kill, one new run, then a further one.",
        "",
        "| kill | after writes | at (s) | last task started | writes before kill | recovery run (s) | failed hosts | "
        "further run: writes / changed |",
        "|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for n, c in enumerate(k["cycles"], start=1):
        task = c["last_task"].replace("v7labs.azure_storage.storage_integration : ", "")
        lines.append(f"| {n} | {c['after_writes']} | {c['seconds']} | {task} | {c['writes_before_kill']} | "
                     f"{c['recovery_seconds']} | "
                     f"{len(c['recovery_failed_hosts'])} | {c['further_writes']} / {c['further_changed']} |")
    return lines + [""]


def _concurrent_markdown(c: dict) -> list[str]:
    same = not any("differs from one run" in p for p in c["problems"])
    verdict = ("the same as one run's" if same else "DIFFERENT from one run's") if c.get("compared_with_one_run", True) \
        else "not compared with one run's"
    return [
        f"Concurrent runs: {c['inventories'][0]} and {c['inventories'][1]} ({c['overlap']} in both) started at "
        f"once, same faults: {c['seconds']} s; failed hosts {[len(r['failed_hosts']) for r in c['runs']]}; "
        f"service principal POSTs {c['service_principal_posts']} (Graph 409s {c['graph_conflicts']}); "
        f"ARM 409s {c['role_assignment_exists']}; end state {verdict}.",
        "",
    ]


def markdown(result: dict) -> str:
    cfg, m = result["config"], result["machine"]
    lines = [
        f"### Soak ({cfg['name']}): {cfg['accounts']} storage accounts, {cfg['tenants']} tenants, forks {cfg['forks']}",
        "",
        f"Machine: {m['cores']} cores, Python {m['python']}, ansible-core {m['ansible_core']}. "
        f"Faults: {cfg['rate_429']:.0%} 429 (Retry-After {cfg['retry_after']} s), {cfg['rate_503']:.0%} 503, "
        f"{cfg['rate_drop']:.0%} dropped connections on ARM and Graph; principal replication "
        f"{cfg['principal_replication_seconds']:g} s, Graph visibility {cfg['graph_visibility_seconds']:g} s.",
        "",
    ]
    if "faults" in result:
        lines += _faults_markdown(result["faults"])
    if "concurrent" in result:
        lines += _concurrent_markdown(result["concurrent"])
    if "kills" in result:
        lines += _kills_markdown(result["kills"])
    lines += ["| experiment | problems |", "|---|---:|"]
    lines += [f"| {name} | {len(result[name]['problems'])} |" for name in EXPERIMENTS if name in result]
    missing = [name for name in EXPERIMENTS if name not in result]
    lines += ["", f"Wall time of the soak: {result['seconds']} s"
              + (f" (not run yet: {', '.join(missing)})." if missing else "."), ""]
    problems = all_problems(result)
    if problems:
        lines += ["Problems:", ""] + [f"- {p}" for p in problems] + [""]
    return "\n".join(lines)


def _write(result: dict, out_dir: str) -> None:
    with open(os.path.join(out_dir, "soak.json"), "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
    with open(os.path.join(out_dir, "soak.md"), "w", encoding="utf-8") as handle:
        handle.write(markdown(result))


def run_soak(config: Config, out_dir: str, log=print, experiments=EXPERIMENTS) -> dict:
    """The experiments (all three by default); writes out_dir/soak.json and soak.md after each one,
    so that a long run shows what it has so far, and returns the figures. Run with only some of
    them, it keeps the others' figures from an earlier soak.json of the same form in out_dir.
    Without the faults experiment, the concurrent one is checked with world_problems only."""
    os.makedirs(out_dir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix=f"v7-soak-{config.name}-")
    started = time.monotonic()
    result: dict = {
        "config": asdict(config),
        "command": " ".join(["python", "-m", "tests.soak"] + (["--short"] if config.name == "short" else [])),
    }
    earlier = _earlier(out_dir, config)
    result.update({name: earlier[name] for name in EXPERIMENTS if name in earlier and name not in experiments})
    bench = Bench(config, workdir)

    def done(name: str, figures: dict) -> None:
        result[name] = figures
        spent = round(time.monotonic() - started, 1)
        result.update(machine=machine(), seconds=spent + earlier.get("seconds", 0) if len(experiments) < 3 else spent)
        _write(result, out_dir)
        log(f"  {name}: {len(figures['problems'])} problems, {spent:.0f} s")

    try:
        log(f"soak {config.name}: {config.accounts} accounts, emulator at {bench.emulator.url}, work in {workdir}")
        single_run_state = None
        if "faults" in experiments:
            faults = experiment_faults(bench)
            single_run_state = faults.pop("single_run_state")
            done("faults", faults)
        if "concurrent" in experiments:
            done("concurrent", experiment_concurrent(bench, single_run_state))
        if "kills" in experiments:
            done("kills", experiment_kills(bench))
    finally:
        bench.close()
    return result


def _earlier(out_dir: str, config: Config) -> dict:
    path = os.path.join(out_dir, "soak.json")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        earlier = json.load(handle)
    return earlier if earlier.get("config", {}).get("name") == config.name else {}


def all_problems(result: dict) -> list[str]:
    return [p for name in EXPERIMENTS if name in result for p in result[name]["problems"]]
