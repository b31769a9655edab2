"""python -m tests.bench.profile [--module v7_blob_cors,v7_storage_roles,v7_storage_account_info]
                                [--latency-ms 50] [--repeat 3]

Where one module run's time goes, as Ansible runs it on the controller (ansible_connection local,
pipelining): the interpreter's start, Ansible's module boilerplate (the AnsiballZ wrapper, the
ansible.module_utils imports, AnsibleModule's argument handling), the imports of each package, the
token, the ARM and Graph requests, and the rest (the module's own work).

How: the module's real AnsiballZ payload is built by `ansible` (ANSIBLE_KEEP_REMOTE_FILES) against
the emulator (one generated account, V7's principal present, the account already configured, so
the run is the no-op run's), then run again on its own:
- `python -c pass` gives the interpreter's start;
- the AnsiballZ payload of ansible.builtin.ping, minus the interpreter's start, gives the boilerplate;
- `python -X importtime` of the module's payload gives each package's import time (self times
  summed by package, so nothing counts twice);
- cProfile (timed by process time) of the payload gives the token's CPU (azure-identity's
  get_token) and the requests' CPU (azure-core's Pipeline.run, outermost calls, minus the token);
- the emulator's log gives the round trips, each worth --latency-ms on a quiet machine.
Parts are CPU seconds, steady on a busy machine; each is the median of --repeat runs."""
from __future__ import annotations

import argparse
import copy
import glob
import json
import os
import pstats
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from tests.emulator import EmulatorProcess
from tests.scale import run as scale_run
from tests.scale.world import V7_APP_ID, account_scope, build_world, container_scope

PRINCIPAL = "5ca1e0b7-0000-4000-8000-00000000b7b7"
ROLE_GUIDS = {"reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "delegator": "db58b8e5-c6ad-4a2a-8342-4190687cbf4a"}
# packages reported one by one; everything else imported is "other"
PACKAGES = (
    "azure.mgmt.storage", "azure.mgmt.authorization", "azure.mgmt.core", "azure.identity", "azure.core",
    "msal", "cryptography", "jwt", "requests", "urllib3", "ansible", "ansible_collections",
)


def profiled_world():
    """One account, configured the way a configure run leaves it (roles at account scope, V7's CORS
    rule), so every module's run is a no-op run."""
    world = build_world(1, 1, customer_setup=False)
    account = dict(world.accounts[0], containers=[], prefix="images/v7", write=False)
    state = copy.deepcopy(world.state)
    tenant = state["tenants"][0]
    tenant["service_principals"] = [{"app_id": V7_APP_ID, "object_id": PRINCIPAL}]
    scope = account_scope(account)
    tenant["role_assignments"] += [
        {"scope": scope, "role": ROLE_GUIDS["reader"], "principal_id": PRINCIPAL, "principal_type": "ServicePrincipal"},
        {"scope": scope, "role": ROLE_GUIDS["delegator"], "principal_id": PRINCIPAL, "principal_type": "ServicePrincipal"},
    ]
    acct_doc = tenant["subscriptions"][0]["resource_groups"][0]["storage_accounts"][0]
    acct_doc["cors_rules"] = [{
        "allowedOrigins": ["https://darwin.v7labs.com"], "allowedMethods": ["GET", "PUT"],
        "allowedHeaders": ["*"], "exposedHeaders": [], "maxAgeInSeconds": 0,
    }]
    return world, account, state


def module_args(module: str, world, account: dict) -> dict:
    operator = world.operators[account["tenant"]]
    auth = {"tenant": account["tenant"], "client_id": operator["client_id"], "secret": operator["secret"]}
    where = {"subscription_id": account["subscription"], "resource_group": account["resource_group"],
             "storage_account": account["name"]}
    if module == "v7_blob_cors":
        return {**auth, **where}
    if module == "v7_storage_roles":
        return {**auth, **where, "principal_id": PRINCIPAL, "containers": [], "write": False}
    if module == "v7_storage_account_info":
        return {**auth, **where, "containers": ["images"], "v7_ips": [], "v7_origins": ["https://darwin.v7labs.com"]}
    if module == "v7_service_principal":
        return auth
    raise ValueError(f"no arguments known for {module}")


def build_payload(fqcn: str, args: dict, env: dict, workdir: str) -> str:
    """The AnsiballZ file Ansible sends for this task (kept with ANSIBLE_KEEP_REMOTE_FILES)."""
    remote_tmp = tempfile.mkdtemp(prefix="remote-", dir=workdir)
    # the module as its own process (its action plugin would run it inside Ansible's worker)
    run_env = dict(env, ANSIBLE_KEEP_REMOTE_FILES="1", ANSIBLE_REMOTE_TMP=remote_tmp,
                   V7LABS_AZURE_STORAGE_MODULE_PROCESS="true")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-m", fqcn,
           *(["-a", json.dumps(args)] if args else []), "-e", "ansible_pipelining=false",
           "-e", f"ansible_python_interpreter={sys.executable}"]
    done = subprocess.run(cmd, env=run_env, cwd=workdir, capture_output=True, text=True, timeout=300, check=False)
    found = glob.glob(os.path.join(remote_tmp, "*", "AnsiballZ_*.py"))
    if not found:
        raise RuntimeError(f"no AnsiballZ payload for {fqcn}: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    if '"failed": true' in done.stdout:
        raise RuntimeError(f"{fqcn} failed while building its payload: {done.stdout[-2000:]}")
    return found[0]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], env: dict, cwd: str) -> tuple[float, subprocess.CompletedProcess, float]:
    """Wall seconds, the result, and the CPU seconds the process used (user + system): on a busy
    machine the CPU time is the steadier measure."""
    cpu = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    return time.perf_counter() - started, done, _children_cpu() - cpu


def median_times(cmd: list[str], env: dict, cwd: str, repeat: int) -> tuple[float, float]:
    runs = [timed(cmd, env, cwd) for unused_run in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[2] for r in runs)


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s+(.*)$")


def import_times(stderr: str, *, others: bool = False) -> dict[str, float]:
    """Seconds of import per package: each module's self time, summed by the package it is in.
    With others, the packages outside PACKAGES are kept by their top-level name."""
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if not match:
            continue
        name = match[3].strip()
        package = next((p for p in PACKAGES if name == p or name.startswith(p + ".")), None)
        if package is None:
            package = name.split(".")[0] if others else "other"
        totals[package] = totals.get(package, 0.0) + int(match[1]) / 1e6
    return totals


# imported one after the other in a fresh interpreter: each one's CPU time excludes what the ones
# before it already imported (azure.identity's share does not count azure.core again)
CPU_IMPORT_ORDER = (
    "ansible.module_utils.basic", "requests", "azure.core", "cryptography.x509", "msal", "azure.identity",
    "azure.mgmt.core", "azure.mgmt.storage", "azure.mgmt.authorization.v2022_04_01",
)
_CPU_IMPORTER = """
import importlib, json, sys, time
out = {}
for name in sys.argv[1:]:
    started = time.process_time()
    importlib.import_module(name)
    out[name] = time.process_time() - started
print(json.dumps(out))
"""


def import_cpu(python: str, env: dict, cwd: str, repeat: int) -> dict[str, float]:
    """CPU seconds of importing each package of CPU_IMPORT_ORDER, in that order (steady on a busy
    machine, unlike -X importtime's wall times)."""
    runs = []
    for unused_run in range(repeat):
        done = subprocess.run([python, "-c", _CPU_IMPORTER, *CPU_IMPORT_ORDER], env=env, cwd=cwd,
                              capture_output=True, text=True, timeout=300, check=True)
        runs.append(json.loads(done.stdout))
    return {name: statistics.median(run[name] for run in runs) for name in CPU_IMPORT_ORDER}


def _cumulative(stats: pstats.Stats, file_part: str, function: str) -> float:
    best = 0.0
    for (filename, unused_line, name), entry in stats.stats.items():
        ct = entry[3]
        if name == function and file_part in filename.replace(os.sep, "/"):
            best = max(best, ct)
    return best


def token_and_requests(profile_path: str) -> tuple[float, float]:
    stats = pstats.Stats(profile_path)
    token = _cumulative(stats, "azure/identity/", "get_token") or _cumulative(stats, "azure/identity/", "get_token_info")
    pipeline = _cumulative(stats, "azure/core/pipeline/_base.py", "run")
    return token, max(0.0, pipeline - token)


_PROFILE_RUNNER = """
import cProfile, runpy, sys, time
payload, out = sys.argv[1], sys.argv[2]
sys.argv = [payload]
profiler = cProfile.Profile(time.process_time)
profiler.enable()
try:
    runpy.run_path(payload, run_name="__main__")
except SystemExit:
    pass
finally:
    profiler.disable()
    profiler.dump_stats(out)
"""


def _imported(imports_runs: list[dict], name: str) -> bool:
    top = name.split(".v20")[0]
    return any(p == top or top.startswith(p + ".") or p.startswith(top) for run in imports_runs for p in run)


def profile_module(module: str, emulator: EmulatorProcess, world, account: dict, env: dict, workdir: str,
                   repeat: int, latency_s: float) -> dict:
    """The module run's CPU seconds by part, and its round trips. On a busy machine wall times
    mostly measure the wait for a core, so the parts are CPU seconds (process time), and the
    quiet-machine wall time is estimated as CPU + round trips x latency (a module run is one
    thread that either computes or waits for a reply)."""
    fqcn = f"v7labs.azure_storage.{module}"
    payload = build_payload(fqcn, module_args(module, world, account), env, workdir)
    ping = build_payload("ansible.builtin.ping", {}, env, workdir)
    python = sys.executable
    start_wall, start_cpu = median_times([python, "-c", "pass"], env, workdir, repeat)
    ping_cpu = median_times([python, ping], env, workdir, repeat)[1]
    walls, cpus, imports_runs, profiles, trips = [], [], [], [], []
    for i in range(repeat):
        emulator.clear_log()
        wall, done, cpu = timed([python, payload], env, workdir)
        if '"failed": true' in done.stdout or done.returncode:
            raise RuntimeError(f"{module} failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
        log = emulator.log(bodies=False)
        trips.append((
            sum(1 for e in log if e["kind"] == "entra" and e["path"].endswith("/token")),
            sum(1 for e in log if e["kind"] in ("arm", "graph")),
            sum(1 for e in log if e["kind"] == "metadata"),
        ))
        walls.append(wall)
        cpus.append(cpu)
        traced = timed([python, "-X", "importtime", payload], env, workdir)[1]
        imports_runs.append(import_times(traced.stderr))
        prof = os.path.join(workdir, f"{module}-{i}.prof")
        # not `python -m cProfile`: the payload drops its __main__'s folder from sys.path, which
        # would then be the standard library's
        timed([python, "-c", _PROFILE_RUNNER, payload, prof], env, workdir)
        profiles.append(token_and_requests(prof))
    cpu = statistics.median(cpus)
    token_trips, request_trips, metadata_trips = (statistics.median(t[k] for t in trips) for k in range(3))
    token_cpu = statistics.median(p[0] for p in profiles)
    requests_cpu = statistics.median(p[1] for p in profiles)
    boilerplate = max(0.0, ping_cpu - start_cpu)
    imports = {
        name: seconds for name, seconds in import_cpu(python, env, workdir, repeat).items()
        if name != "ansible.module_utils.basic" and _imported(imports_runs, name)
    }
    parts = {
        "interpreter start": start_cpu,
        "Ansible boilerplate (AnsiballZ, ansible.* imports, AnsibleModule)": boilerplate,
        **{f"import {name}": seconds for name, seconds in imports.items()},
        "token: MSAL and azure-identity": token_cpu,
        "requests: azure-core pipeline, SDK (de)serialisation": requests_cpu,
    }
    parts["the rest (collection's imports, module logic, JSON, exit)"] = max(0.0, cpu - sum(parts.values()))
    waits = {
        "wait: token round trips": token_trips * latency_s,
        "wait: ARM/Graph round trips": request_trips * latency_s,
        "wait: cloud metadata round trips": metadata_trips * latency_s,
    }
    return {
        "module": module, "cpu": cpu, "measured_wall": statistics.median(walls), "start_wall": start_wall,
        "estimated_quiet_wall": cpu + sum(waits.values()), "parts": parts, "waits": waits,
        "round_trips": {"token": token_trips, "arm_graph": request_trips, "metadata": metadata_trips},
        "load_average": os.getloadavg()[0],
        "importtime_wall": {p: statistics.median(run.get(p, 0.0) for run in imports_runs)
                            for p in sorted({p for run in imports_runs for p in run})},
    }


def render(result: dict) -> str:
    quiet = result["estimated_quiet_wall"]
    lines = [
        f"{result['module']}: {result['cpu']:.3f} s CPU + {sum(result['waits'].values()):.3f} s of round trips "
        f"= {quiet:.3f} s per run on a quiet machine (measured wall {result['measured_wall']:.3f} s at load "
        f"average {result['load_average']:.1f}); round trips {result['round_trips']}",
        f"  {'part':<62} {'seconds':>8} {'%':>6}",
    ]
    for name, seconds in {**result["parts"], **result["waits"]}.items():
        lines.append(f"  {name:<62} {seconds:8.3f} {100 * seconds / quiet:6.1f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--module", default="v7_blob_cors,v7_storage_roles,v7_storage_account_info")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the breakdowns to this file")
    args = parser.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="v7-profile-")
    world, account, state = profiled_world()
    results = []
    try:
        with EmulatorProcess() as emulator:
            emulator.load_state(state)
            emulator.faults(latency_ms=args.latency_ms)
            env = scale_run.playbook_env(emulator.env(), workdir)
            for module in args.module.split(","):
                result = profile_module(module.strip(), emulator, world, account, env, workdir, args.repeat,
                                        args.latency_ms / 1000)
                results.append(result)
                print(render(result), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"latency_ms": args.latency_ms, "results": results}, handle, indent=2)
    return 0


__all__ = ["import_times", "token_and_requests", "profile_module", "container_scope"]

if __name__ == "__main__":
    sys.exit(main())
