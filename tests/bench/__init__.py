"""The benchmark: the configure playbook over a generated world of N storage accounts in the Azure
emulator, run twice (the first run, then the no-op run), with what it cost and what Azure was
asked; optionally the same job done with azure.azcollection, side by side.

`python -m tests.bench` is the command line (see __main__.py); `bench_size` is one size, used by
the smoke test too. Everything that depends on the machine's speed (seconds, memory) is measured;
everything that does not (requests, writes) is counted from the emulator's log and checked against
what the world needed."""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.emulator.blob_proxy import BlobEndpointProxy
from tests.emulator import EmulatorProcess
from tests.scale import run as scale_run
from tests.scale.world import (
    BLOB_CONTRIBUTOR,
    BLOB_DELEGATOR,
    BLOB_READER,
    V7_APP_ID,
    V7_ORIGINS,
    World,
    account_scope,
    build_world,
    container_scope,
    cors_allows,
    wanted_assignments,
    write_inventory,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AZC_DIR = os.path.join(ROOT, "tests", "bench", "azcollection")
AZC_VENV = os.path.join(ROOT, ".venv-azcollection")
AZC_PYTHON = os.path.join(AZC_VENV, "bin", "python")
# ansible 14 (azure.azcollection 3.21, the first release whose custom-cloud support works) needs 3.12
AZC_BASE_PYTHONS = ("python3.13", "python3.12")
AZC_PLAYBOOK = os.path.join(AZC_DIR, "configure.playbook")
# the sizes azure.azcollection runs at by default: its module runs cost about 21 CPU s per account
# and run, so on 2 cores a run at N=500 takes about 1.5 hours
AZC_SIZES = (10, 50, 200)
REQUEST_KINDS = ("token", "graph_read", "graph_write", "arm_read", "arm_write", "blob")
# ARM actions that are POSTs but change nothing: StorageAccounts_ListKeys (azure.azcollection's
# modules call it for the key they read the Blob data plane with)
READ_ACTIONS = ("/listkeys",)


# ------------------------------------------------------------------------------ what was asked
def is_write(entry: dict) -> bool:
    """Whether a logged request changed something: the emulator's flag (PUT, POST, PATCH, DELETE on
    ARM or Graph), less the POST actions that only read."""
    return bool(entry["write"]) and not entry["path"].lower().rstrip("/").endswith(READ_ACTIONS)


def request_kind(entry: dict) -> str | None:
    """token, graph_read, graph_write, arm_read, arm_write, blob (the Blob data plane); None for
    metadata and the rest."""
    if entry["kind"] == "entra":
        return "token" if entry["path"].endswith("/token") else None
    if entry["kind"] in ("graph", "arm"):
        return f"{entry['kind']}_{'write' if is_write(entry) else 'read'}"
    if entry["kind"] == "blob":
        return "blob"
    return None


def count_requests(log: list[dict]) -> dict[str, int]:
    counts = Counter(kind for kind in map(request_kind, log) if kind)
    return {kind: counts.get(kind, 0) for kind in REQUEST_KINDS}


def _account_of(path: str, names: set[str]) -> str | None:
    lower = path.lower()
    marker = "/storageaccounts/"
    at = lower.find(marker)
    if at < 0:
        return None
    name = lower[at + len(marker):].split("/")[0]
    return name if name in names else None


def arm_reads_per_account(log: list[dict], names: set[str]) -> dict[str, int]:
    """ARM GETs on each account or below it (role assignments at its scopes included)."""
    counts = Counter(
        _account_of(e["path"], names) for e in log if request_kind(e) == "arm_read"
    )
    counts.pop(None, None)
    return {name: counts.get(name, 0) for name in sorted(names)}


def graph_reads_per_tenant(log: list[dict]) -> dict[str, int]:
    counts = Counter(e.get("tenant") for e in log if request_kind(e) == "graph_read")
    return dict(counts)


def read_endpoint(path: str) -> str:
    """An ARM read's operation without the ids, e.g. 'Microsoft.Storage/storageAccounts/{}/blobServices/{}';
    '(scope)/' marks an operation at a resource's scope (role assignments at a container)."""
    lower = path.lower()
    at = lower.rfind("/providers/")
    if at < 0:
        return "resourceGroups/{}" if "/resourcegroups/" in lower else "subscriptions/{}"
    parts = path[at + len("/providers/"):].split("/")
    name = "/".join(p if i == 0 or i % 2 == 1 else "{}" for i, p in enumerate(parts))
    return ("(scope)/" if lower.find("/providers/") != at else "") + name


def reads_by_endpoint(log: list[dict]) -> dict[str, int]:
    counts = Counter(read_endpoint(e["path"]) for e in log if request_kind(e) == "arm_read")
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def writes_of(log: list[dict]) -> list[dict]:
    return [e for e in log if is_write(e)]


def classify_write(entry: dict) -> str:
    """What a write was for: service_principal, role_assignment, cors, container, other."""
    path = entry["path"].lower()
    if entry["kind"] == "graph" and "serviceprincipals" in path:
        return "service_principal"
    if "/microsoft.authorization/roleassignments/" in path:
        return "role_assignment"
    if path.endswith("/blobservices/default"):
        return "cors"
    if "/blobservices/default/containers/" in path:
        return "container"
    return "other"


# ------------------------------------------------------------------------------ what was needed
def role_scopes(account: dict) -> int:
    """How many scopes V7 holds roles at on the account (the data scopes, plus the account itself
    for the Delegator when the data roles are per container)."""
    return len({pair[1] for pair in wanted_assignments(account)})


def needed_writes(world: World, state_before: dict | None = None) -> dict[str, int]:
    """The writes a first run cannot avoid, by what they are for, from the world as generated:
    V7's service principal where a tenant lacks it, each role assignment V7 lacks, a CORS PUT where
    V7's origins are not allowed for GET and PUT, the prefix's container where it is missing."""
    held = _v7_held(state_before or world.state)
    tenants_with_sp = _tenants_with_v7_sp(state_before or world.state)
    needed = Counter()
    for tenant in world.tenants:
        if tenant not in tenants_with_sp and any(a["tenant"] == tenant for a in world.accounts):
            needed["service_principal"] += 1
    for account in world.accounts:
        needed["role_assignment"] += len(wanted_assignments(account) - held)
        rules = account["customer_cors_rules"]
        if not all(cors_allows(rules, o, m) for o in V7_ORIGINS for m in ("GET", "PUT")):
            needed["cors"] += 1
        if account["prefix"].split("/")[0] not in account["existing_containers"]:
            needed["container"] += 1
    return {k: needed.get(k, 0) for k in ("service_principal", "role_assignment", "cors", "container")}


def _tenants_with_v7_sp(state: dict) -> set[str]:
    return {
        t["id"] for t in state.get("tenants") or []
        if any(str(sp["app_id"]).lower() == V7_APP_ID for sp in t.get("service_principals") or [])
    }


def _v7_held(state: dict) -> set[tuple[str, str]]:
    v7 = {
        str(sp["object_id"]).lower()
        for t in state.get("tenants") or [] for sp in t.get("service_principals") or []
        if str(sp["app_id"]).lower() == V7_APP_ID
    }
    return {
        (_role_guid(ra["role"]), "/" + str(ra["scope"]).strip("/").lower())
        for t in state.get("tenants") or [] for ra in t.get("role_assignments") or []
        if str(ra["principal_id"]).lower() in v7
    }


_ROLE_GUIDS = {
    "storage blob data reader": BLOB_READER,
    "storage blob data contributor": BLOB_CONTRIBUTOR,
    "storage blob delegator": BLOB_DELEGATOR,
}


def _role_guid(role: str) -> str:
    return _ROLE_GUIDS.get(str(role).lower(), str(role).lower())


# ------------------------------------------------------------------------------ the lower bound
# The round trips one account cannot do without, one after the other (each needs the previous
# answer, or a module does them in order): the no-op run reads the account, its Blob service, its
# containers and V7's role assignments (one filtered list at the account scope covers the
# container scopes below it). The first run adds one PUT per write it needs. Once per tenant: a
# token for ARM, a token and one read for Graph (and the POST when V7's principal is missing).
NOOP_ACCOUNT_TRIPS = 4
TENANT_TRIPS = 3


def lower_bound_seconds(accounts: int, tenants: int, writes: int, latency_s: float, forks: int) -> float:
    per_accounts = (accounts * NOOP_ACCOUNT_TRIPS + writes) * latency_s / max(1, min(forks, max(accounts, 1)))
    return per_accounts + TENANT_TRIPS * latency_s


# ------------------------------------------------------------------------------ running
@dataclass
class Measured:
    """One ansible-playbook run: wall and CPU seconds, the controller's peak RSS, the requests."""
    label: str
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    returncode: int | None
    failed_hosts: list[str]
    requests: dict[str, int]
    writes_by_purpose: dict[str, int]
    arm_reads_per_account: dict[str, int]
    graph_reads_per_tenant: dict[str, int]
    tail: str = ""
    extra: dict = field(default_factory=dict)


def _peak_rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(label: str, emulator: EmulatorProcess, world: World, args: list[str], env: dict,
                 workdir: str, timeout: float) -> Measured:
    """Run a command (ansible-playbook and everything it starts), sampling the controller's peak
    RSS; then count what the emulator received during it."""
    emulator.clear_log()
    os.makedirs(workdir, exist_ok=True)
    cpu_before = _children_cpu()
    started = time.monotonic()
    with tempfile.TemporaryFile(mode="w+", dir=workdir) as out:
        proc = subprocess.Popen(args, env=env, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        peak = [0]

        def sample() -> None:
            while proc.poll() is None:
                peak[0] = max(peak[0], _peak_rss_kb(proc.pid) or 0)
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            rc = proc.wait()
        seconds = time.monotonic() - started
        sampler.join()
        out.seek(0)
        stdout = out.read()
    cpu = _children_cpu() - cpu_before
    log = emulator.log(bodies=False)
    names = {a["name"] for a in world.accounts}
    return Measured(
        label=label,
        seconds=round(seconds, 2),
        cpu_seconds=round(cpu, 2),
        peak_rss_mb=round(peak[0] / 1024, 1),
        returncode=rc,
        failed_hosts=scale_run.failed_hosts(stdout),
        requests=count_requests(log),
        writes_by_purpose=dict(Counter(classify_write(e) for e in writes_of(log))),
        arm_reads_per_account=arm_reads_per_account(log, names),
        graph_reads_per_tenant=graph_reads_per_tenant(log),
        tail=stdout[-3000:],
        extra={"arm_reads_by_endpoint": reads_by_endpoint(log), "first_failure": first_failure(stdout)},
    )


FLOOR_PLAYBOOK = os.path.join(ROOT, "tests", "bench", "floor.yml")
# Goals against the floor (wall time over the ping play's): the no-op run and verify under it,
# the first run within twice it. Reported, not part of the exit status: they depend on the machine.
FLOOR_GOALS = {"configure": 2.0, "configure (no-op)": 1.0, "verify": 1.0}


def floor_ratios(*runs: Measured) -> dict:
    """Each run's wall time over the last run's (the floor), with whether it meets its goal."""
    *measured, floor = runs
    out = {}
    for run in measured:
        ratio = round(run.seconds / floor.seconds, 2) if floor.seconds else None
        goal = FLOOR_GOALS.get(run.label)
        out[run.label] = {"ratio": ratio, "goal": goal,
                          "met": None if ratio is None or goal is None else (ratio <= goal if goal > 1 else ratio < goal)}
    return out


def configure_command(inventory: str, forks: int) -> list[str]:
    return scale_run.command(inventory, forks=forks)


# ------------------------------------------------------------------------------ azure.azcollection
def ensure_azcollection_venv(log=print) -> str:
    """.venv-azcollection with the `ansible` package (which ships azure.azcollection) and the
    collection's own requirements file; created when missing. Returns its python."""
    stamp = os.path.join(AZC_VENV, ".bench-installed")
    if os.path.exists(stamp):
        return AZC_PYTHON
    log(f"creating {AZC_VENV} (azure.azcollection and its requirements, a few minutes)")
    base = _base_python()
    if base is None:
        raise RuntimeError("azure.azcollection's benchmark needs python3.12 or newer on PATH (ansible 14 requires it)")
    subprocess.run([base, "-m", "venv", AZC_VENV], check=True)
    pip = [AZC_PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run(pip + ["-r", os.path.join(AZC_DIR, "requirements.txt")], check=True)
    found = subprocess.run(
        [AZC_PYTHON, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    collection = os.path.join(found, "ansible_collections", "azure", "azcollection")
    subprocess.run(pip + ["-r", os.path.join(collection, "requirements.txt")], check=True)
    with open(stamp, "w", encoding="ascii") as handle:
        handle.write("ok\n")
    return AZC_PYTHON


def _base_python() -> str | None:
    """A Python >= 3.12 that runs (a pyenv shim may exist for a version that is not selected)."""
    import glob

    candidates = [shutil.which(name) for name in AZC_BASE_PYTHONS]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")), reverse=True)
    for candidate in filter(None, candidates):
        check = subprocess.run([candidate, "-c", "import sys; assert sys.version_info >= (3, 12)"], check=False,
                               capture_output=True)
        if check.returncode == 0:
            return candidate
    return None


def azcollection_world(world: World) -> tuple[World, dict[str, str]]:
    """The same world, with what azure.azcollection cannot do here done beforehand: V7's service
    principal in each tenant (its Graph client cannot be pointed at the emulator). Returns the
    world and the principal's object id per tenant."""
    import copy

    state = copy.deepcopy(world.state)
    principals = {}
    for t, tenant in enumerate(state["tenants"]):
        object_id = f"5ca1e0b7-{t:04x}-4000-8000-00000000b7b7"
        tenant["service_principals"] = [{"app_id": V7_APP_ID, "object_id": object_id}]
        principals[tenant["id"]] = object_id
    return World(state=state, accounts=world.accounts, tenants=world.tenants, operators=world.operators), principals


def azcollection_vars(world: World, principals: dict[str, str], path: str) -> str:
    """Extra vars for the azcollection playbook: each account's role assignments and prefix
    container, computed the way the configure role does, so both do the same job."""
    accounts = {}
    for account in world.accounts:
        assignments = sorted(wanted_assignments(account), key=lambda pair: (pair[1], pair[0]))
        accounts[account["name"]] = {
            "roles": [{"role": role, "scope": _exact_case_scope(account, scope)} for role, scope in assignments],
            "container": account["prefix"].split("/")[0],
        }
    doc = {"v7_principal_ids": principals, "v7_accounts": accounts, "v7_app_id": V7_APP_ID}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(doc, handle)
    return path


def _exact_case_scope(account: dict, lower_scope: str) -> str:
    base = account_scope(account)
    if lower_scope == base.lower():
        return base
    container = lower_scope.rsplit("/", 1)[1]
    return container_scope(account, container)


def azcollection_env(emulator: EmulatorProcess, workdir: str, proxy_env: dict[str, str]) -> dict:
    """azure.azcollection finds a custom cloud the way azure-cli does: ARM_CLOUD_METADATA_URL
    loads the clouds from the metadata endpoint, and cloud_environment (AZURE_CLOUD_ENVIRONMENT)
    names the cloud by its resource manager URL. AZURE_CONFIG_DIR keeps azure-cli's cache of the
    endpoints in the run's folder (a cache from another port would be used as it is). The proxy's
    settings (HTTPS_PROXY, NO_PROXY, the CA bundle) bring the Blob endpoints to the emulator."""
    env = scale_run.playbook_env(emulator.env(), workdir)
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(workdir, "no-collections")  # the venv's own only
    env["PATH"] = os.path.join(AZC_VENV, "bin") + os.pathsep + env["PATH"]
    env["ARM_CLOUD_METADATA_URL"] = emulator.cloud_list_url
    env["AZURE_CLOUD_ENVIRONMENT"] = emulator.url
    env["AZURE_CONFIG_DIR"] = tempfile.mkdtemp(prefix="azure-config-", dir=workdir)
    env.update(proxy_env)
    return env


def azcollection_command(inventory: str, forks: int, vars_file: str) -> list[str]:
    return [os.path.join(AZC_VENV, "bin", "ansible-playbook"), "-i", inventory, AZC_PLAYBOOK,
            "-f", str(forks), "-e", "@" + vars_file]


# ------------------------------------------------------------------------------ the baseline
# `--baseline REF` measures another commit's configure.yml beside the working tree's: a detached
# git worktree of REF under build/bench/baseline-<short sha> (kept, and reused by the next run),
# and a collections folder next to it whose ansible_collections/v7labs/azure_storage links to that
# worktree, for ANSIBLE_COLLECTIONS_PATH. The generated inventory is the same for both: it sets
# `ansible_connection: local` on the accounts' group, which the playbooks before the role's
# redesign needed (today's set `connection: local` themselves).
BASELINE_DIR = os.path.join(ROOT, "build", "bench")
SHORT_SHA = 7


@dataclass(frozen=True)
class Baseline:
    """A commit to measure beside the working tree: the ref as given, its full and short sha, its
    worktree and the collections folder that points at it."""
    ref: str
    sha: str
    worktree: str
    collections: str

    @property
    def short(self) -> str:
        return self.sha[:SHORT_SHA]

    @property
    def playbook(self) -> str:
        return os.path.join(self.worktree, "playbooks", "configure.yml")

    def command(self, inventory: str, forks: int) -> list[str]:
        return scale_run.command(inventory, forks=forks, playbook=self.playbook)


def baseline_worktree_path(sha: str, base: str = BASELINE_DIR) -> str:
    """build/bench/baseline-<short sha>: one folder per commit, whatever ref named it."""
    return os.path.join(base, f"baseline-{sha[:SHORT_SHA]}")


def baseline_collections_path(sha: str, base: str = BASELINE_DIR) -> str:
    """build/bench/baseline-<short sha>-collections: the ANSIBLE_COLLECTIONS_PATH of its runs (next
    to the worktree, not inside it, so that the worktree stays as the commit has it)."""
    return baseline_worktree_path(sha, base) + "-collections"


def baseline_labels(short: str) -> tuple[str, str]:
    """The result rows of the baseline's two runs."""
    return f"configure (REF {short}), first run", f"configure (REF {short}), no-op run"


def resolve_ref(ref: str, repo: str = ROOT) -> str:
    """The full sha of the commit `ref` names; ValueError when it names none."""
    found = subprocess.run(["git", "-C", repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                           capture_output=True, text=True, check=False)
    if found.returncode != 0 or not found.stdout.strip():
        raise ValueError(f"--baseline {ref}: not a commit in {repo}")
    return found.stdout.strip()


def _worktree_head(path: str) -> str | None:
    found = subprocess.run(["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return found.stdout.strip() if found.returncode == 0 else None


def link_collection(collections: str, target: str) -> str:
    """<collections>/ansible_collections/v7labs/azure_storage -> target (replaced when it points
    elsewhere). Returns `collections`."""
    parent = os.path.join(collections, "ansible_collections", "v7labs")
    os.makedirs(parent, exist_ok=True)
    link = os.path.join(parent, "azure_storage")
    if os.path.islink(link) and os.readlink(link) == target:
        return collections
    if os.path.islink(link):
        os.unlink(link)
    elif os.path.exists(link):
        raise RuntimeError(f"{link} exists and is not a link")
    os.symlink(target, link)
    return collections


def ensure_baseline(ref: str, repo: str = ROOT, base: str = BASELINE_DIR, log=print) -> Baseline:
    """The worktree of `ref` (made with `git worktree add --detach` when missing, reused when it
    is there at the same commit) and its collections folder."""
    sha = resolve_ref(ref, repo)
    worktree = baseline_worktree_path(sha, base)
    head = _worktree_head(worktree) if os.path.isdir(worktree) else None
    if head is None:
        if os.path.exists(worktree):
            raise RuntimeError(f"{worktree} exists and is not a git worktree; remove it")
        log(f"git worktree add --detach {worktree} {sha[:SHORT_SHA]}")
        os.makedirs(base, exist_ok=True)
        made = subprocess.run(["git", "-C", repo, "worktree", "add", "--detach", worktree, sha], check=False,
                              capture_output=True, text=True)
        if made.returncode != 0:  # e.g. the folder was deleted but git still lists it: git worktree prune
            raise RuntimeError(f"git worktree add --detach {worktree} {sha}: {made.stderr.strip()}")
    elif head != sha:
        raise RuntimeError(f"{worktree} is at {head[:SHORT_SHA]}, not {sha[:SHORT_SHA]}; remove it "
                           f"(git worktree remove {worktree})")
    collections = link_collection(baseline_collections_path(sha, base), os.path.abspath(worktree))
    return Baseline(ref=ref, sha=sha, worktree=worktree, collections=collections)


def baseline_env(env: dict, baseline: Baseline) -> dict:
    """The working tree's playbook environment with the baseline's collections instead."""
    return {**env, "ANSIBLE_COLLECTIONS_PATH": baseline.collections}


# ------------------------------------------------------------------------------ one size
def _row(run: Measured, world: World, bound: float) -> dict:
    n = max(1, len(world.accounts))
    t = max(1, len(world.tenants))
    per_account = {k: round(v / n, 2) for k, v in run.requests.items()}
    per_tenant = {k: round(v / t, 2) for k, v in run.requests.items()}
    return {
        "run": run.label,
        "seconds": run.seconds,
        "seconds_per_account": round(run.seconds / n, 3),
        "cpu_seconds": run.cpu_seconds,
        "cpu_seconds_per_account": round(run.cpu_seconds / n, 3),
        "peak_rss_mb": run.peak_rss_mb,
        "returncode": run.returncode,
        "failed_hosts": run.failed_hosts,
        "requests": run.requests,
        "requests_per_account": per_account,
        "requests_per_tenant": per_tenant,
        "writes_by_purpose": run.writes_by_purpose,
        "max_arm_reads_per_account": max(run.arm_reads_per_account.values(), default=0),
        "max_graph_reads_per_tenant": max(run.graph_reads_per_tenant.values(), default=0),
        "lower_bound_seconds": round(bound, 2),
        "ratio_to_bound": round(run.seconds / bound, 2) if bound else None,
        **run.extra,
    }


def target_checks(world: World, first: dict, noop: dict, needed: dict[str, int]) -> dict[str, bool]:
    """The targets that do not depend on the machine's speed."""
    scopes = {a["name"]: role_scopes(a) for a in world.accounts}
    return {
        "noop_no_write": noop["requests"]["graph_write"] + noop["requests"]["arm_write"] == 0,
        "noop_graph_reads_per_tenant_le_1": noop["max_graph_reads_per_tenant"] <= 1,
        "noop_arm_reads_per_account_le_3_plus_scopes": all(
            reads <= 3 + scopes[name] for name, reads in noop["_arm_reads"].items()
        ),
        "first_run_writes_only_needed": first["writes_by_purpose"] == {k: v for k, v in needed.items() if v},
        "first_run_no_failed_host": not first["failed_hosts"],
        "noop_no_failed_host": not noop["failed_hosts"],
    }


def bench_size(accounts: int, *, tenants: int = 2, latency_ms: int = 50, forks: int = 20,
               azcollection: bool = False, workdir: str | None = None, timeout: float = 3600,
               log=print, azcollection_again: bool = True, baseline: Baseline | None = None,
               more_baselines: tuple[Baseline, ...] = ()) -> dict:
    """One size: configure (first run, no-op run), then the same with the baseline's configure
    when one is given (the same world, forks and latency), then azure.azcollection's job (first,
    and again unless azcollection_again is false)."""
    workdir = workdir or tempfile.mkdtemp(prefix=f"v7-bench-{accounts}-")
    world = build_world(accounts, tenants)
    latency_s = latency_ms / 1000
    result: dict = {"accounts": accounts, "tenants": tenants, "latency_ms": latency_ms, "forks": forks}
    with EmulatorProcess() as emulator:
        emulator.load_state(world.state)
        emulator.faults(latency_ms=latency_ms)
        inventory = write_inventory(world, os.path.join(workdir, "inventory"))
        env = scale_run.playbook_env(emulator.env(), workdir)
        needed = needed_writes(world)
        log(f"N={accounts}: configure, first run")
        first = run_measured("configure", emulator, world, configure_command(inventory, forks), env,
                             os.path.join(workdir, "first"), timeout)
        log(f"N={accounts}: configure, no-op run ({first.seconds} s before)")
        noop = run_measured("configure (no-op)", emulator, world, configure_command(inventory, forks), env,
                            os.path.join(workdir, "noop"), timeout)
        first_row = _row(first, world, lower_bound_seconds(accounts, tenants, sum(needed.values()), latency_s, forks))
        noop_row = _row(noop, world, lower_bound_seconds(accounts, tenants, 0, latency_s, forks))
        noop_row["_arm_reads"] = noop.arm_reads_per_account
        result["needed_writes"] = needed
        result["targets"] = target_checks(world, first_row, noop_row, needed)
        noop_row.pop("_arm_reads")
        result["runs"] = [first_row, noop_row]
        if first.failed_hosts or noop.failed_hosts:
            result["configure_tail"] = {"first": first.tail, "noop": noop.tail}
        log(f"N={accounts}: verify ({noop.seconds} s before)")
        verify = run_measured("verify", emulator, world,
                              scale_run.command(inventory, forks=forks, playbook="verify.yml"), env,
                              os.path.join(workdir, "verify"), timeout)
        log(f"N={accounts}: the Ansible floor, one ping per account ({verify.seconds} s before)")
        floor = run_measured("Ansible floor (ping)", emulator, world,
                             scale_run.command(inventory, forks=forks, playbook=FLOOR_PLAYBOOK), env,
                             os.path.join(workdir, "floor"), timeout)
        result["verify"] = _row(verify, world, lower_bound_seconds(accounts, tenants, 0, latency_s, forks))
        result["floor"] = _row(floor, world, 0)
        result["to_floor"] = floor_ratios(first, noop, verify, floor)
        if baseline is not None:
            result["baseline"] = _bench_baseline(emulator, world, baseline, forks, latency_s, workdir, timeout, log)
        # further baselines (older first, as given): their rows and before / after tables follow
        result["more_baselines"] = [_bench_baseline(emulator, world, more, forks, latency_s, workdir, timeout, log)
                                    for more in more_baselines]
        if azcollection:
            result["azcollection"] = _bench_azcollection(emulator, world, forks, latency_s, workdir, timeout, log,
                                                         again=azcollection_again)
    return result


def _bench_baseline(emulator: EmulatorProcess, world: World, baseline: Baseline, forks: int, latency_s: float,
                    workdir: str, timeout: float, log) -> dict:
    """The baseline's configure.yml, first run then no-op run, on the world as generated (reloaded:
    the working tree's runs changed it), with its own copy of the same inventory (its own
    activation folder) and ANSIBLE_COLLECTIONS_PATH at the baseline's collections folder."""
    emulator.load_state(world.state)
    emulator.faults(latency_ms=int(latency_s * 1000))
    inventory = write_inventory(world, os.path.join(workdir, f"baseline-{baseline.short}-inventory"))
    env = baseline_env(scale_run.playbook_env(emulator.env(), workdir), baseline)
    command = baseline.command(inventory, forks)
    needed = needed_writes(world)
    n, t = len(world.accounts), len(world.tenants)
    labels = baseline_labels(baseline.short)
    log(f"N={n}: {labels[0]}")
    first = run_measured(labels[0], emulator, world, command, env, os.path.join(workdir, f"baseline-{baseline.short}-first"), timeout)
    log(f"N={n}: {labels[1]} ({first.seconds} s before)")
    noop = run_measured(labels[1], emulator, world, command, env, os.path.join(workdir, f"baseline-{baseline.short}-noop"), timeout)
    first_row = _row(first, world, lower_bound_seconds(n, t, sum(needed.values()), latency_s, forks))
    noop_row = _row(noop, world, lower_bound_seconds(n, t, 0, latency_s, forks))
    noop_row["_arm_reads"] = noop.arm_reads_per_account
    targets = target_checks(world, first_row, noop_row, needed)
    noop_row.pop("_arm_reads")
    doc = {"ref": baseline.ref, "sha": baseline.sha, "short": baseline.short, "runs": [first_row, noop_row],
           "needed_writes": needed, "targets": targets}
    if first.failed_hosts or noop.failed_hosts or first.returncode not in (0, 2) or noop.returncode not in (0, 2):
        doc["tails"] = {"first": first.tail, "noop": noop.tail}
    return doc


def _bench_azcollection(emulator: EmulatorProcess, world: World, forks: int, latency_s: float,
                        workdir: str, timeout: float, log, again: bool = True) -> dict:
    ensure_azcollection_venv(log)
    azc_world, principals = azcollection_world(world)
    emulator.load_state(azc_world.state)
    emulator.faults(latency_ms=int(latency_s * 1000))
    inventory = write_inventory(azc_world, os.path.join(workdir, "azc-inventory"))
    vars_file = azcollection_vars(azc_world, principals, os.path.join(workdir, "azc-vars.json"))
    needed = needed_writes(azc_world)
    n, t = len(world.accounts), len(world.tenants)
    command = azcollection_command(inventory, forks, vars_file)
    with BlobEndpointProxy(emulator.url, emulator.ca_bundle, os.path.join(workdir, "azc-proxy")) as proxy:
        env = azcollection_env(emulator, workdir, proxy.env())
        log(f"N={n}: azure.azcollection, first run")
        first = run_measured("azure.azcollection", emulator, azc_world, command, env,
                             os.path.join(workdir, "azc-first"), timeout)
        runs = [first]
        if again:
            log(f"N={n}: azure.azcollection, run again ({first.seconds} s before)")
            runs.append(run_measured("azure.azcollection (again)", emulator, azc_world, command, env,
                                     os.path.join(workdir, "azc-again"), timeout))
        tunnels = {"tunnels": proxy.tunnels, "refused": proxy.refused}
    rows = [_row(first, azc_world, lower_bound_seconds(n, t, sum(needed.values()), latency_s, forks))]
    rows += [_row(run, azc_world, lower_bound_seconds(n, t, 0, latency_s, forks)) for run in runs[1:]]
    failed = [run for run in runs if run.failed_hosts or run.returncode not in (0, 2)]
    return {
        "runs": rows,
        "needed_writes": needed,
        "failure": f"{failed[0].label}: {failed[0].extra['first_failure']}" if failed else None,
        "cannot_do": AZC_CANNOT_DO,
        "blob_endpoint_proxy": tunnels,
        "tails": {run.label: run.tail for run in failed},
    }


def first_failure(stdout: str) -> str | None:
    """The first failed task's message in an ansible-playbook output, shortened."""
    import re

    match = re.search(r'"msg": "((?:[^"\\]|\\.){0,400})', stdout)
    return match[1] if match else None


AZC_CANNOT_DO = [
    "V7's service principal (azure_rm_adserviceprincipal): its msgraph client always calls "
    "graph.microsoft.com (only the China, US Gov and German clouds are mapped), so it cannot be "
    "pointed at the emulator; the principal is created beforehand and not timed",
]


def cpu_per_account(size: dict, row: dict) -> float:
    """cpu_seconds / N (rows written before the column existed have no cpu_seconds_per_account)."""
    if "cpu_seconds_per_account" in row:
        return row["cpu_seconds_per_account"]
    return round(row["cpu_seconds"] / max(1, size["accounts"]), 3)


# ------------------------------------------------------------------------------ report
COLUMNS = [
    ("N", lambda s, r: s["accounts"]),
    ("T", lambda s, r: s["tenants"]),
    ("F", lambda s, r: s["forks"]),
    ("latency ms", lambda s, r: s["latency_ms"]),
    ("run", lambda s, r: r["run"]),
    ("wall s", lambda s, r: r["seconds"]),
    ("s/account", lambda s, r: r["seconds_per_account"]),
    ("CPU s", lambda s, r: r["cpu_seconds"]),
    ("CPU s per account", cpu_per_account),
    ("peak MB", lambda s, r: r["peak_rss_mb"]),
    ("token/acct", lambda s, r: r["requests_per_account"]["token"]),
    ("Graph R/tenant", lambda s, r: r["requests_per_tenant"]["graph_read"]),
    ("Graph W/tenant", lambda s, r: r["requests_per_tenant"]["graph_write"]),
    ("ARM R/acct", lambda s, r: r["requests_per_account"]["arm_read"]),
    ("ARM W/acct", lambda s, r: r["requests_per_account"]["arm_write"]),
    ("Blob R/acct", lambda s, r: r["requests_per_account"]["blob"]),
    ("bound s", lambda s, r: r["lower_bound_seconds"]),
    ("actual/bound", lambda s, r: r["ratio_to_bound"]),
    ("failed", lambda s, r: len(r["failed_hosts"])),
    ("vs azcollection", lambda s, r: r.get("vs_azcollection", "")),
]


BEFORE_AFTER_RUNS = ("first run", "no-op run")
REQUEST_HEADINGS = {"token": "token", "graph_read": "Graph R", "graph_write": "Graph W", "arm_read": "ARM R",
                    "arm_write": "ARM W", "blob": "Blob R"}


def before_after(size: dict) -> list[str]:
    """With a baseline: for the size, the baseline's runs beside the working tree's, each cell
    'before / after' (wall s, CPU s per account, then the requests of each kind, in all); no
    lines without one."""
    lines: list[str] = []
    for base in baselines_of(size):
        headings = ["run", "wall s", "CPU s per account", *REQUEST_HEADINGS.values()]
        lines += [f"N={size['accounts']}, before (REF {base['short']}) / after (working tree):", "",
                  "| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
        for name, before, after in zip(BEFORE_AFTER_RUNS, base["runs"], size["runs"]):
            cells = [name, f"{before['seconds']} / {after['seconds']}",
                     f"{cpu_per_account(size, before)} / {cpu_per_account(size, after)}"]
            cells += [f"{before['requests'][k]} / {after['requests'][k]}" for k in REQUEST_HEADINGS]
            lines.append("| " + " | ".join(map(str, cells)) + " |")
        lines.append("")
    return lines


def baselines_of(size: dict) -> list[dict]:
    """The size's baselines, the --baseline REF's first."""
    return ([size["baseline"]] if size.get("baseline") else []) + list(size.get("more_baselines") or [])


def add_ratios(size: dict) -> None:
    """configure's time over azure.azcollection's, run for run (first with first, no-op with again)."""
    azc = size.get("azcollection")
    if not azc:
        return
    for ours, theirs in zip(size["runs"], azc["runs"]):
        if theirs["failed_hosts"] or theirs["returncode"] not in (0, 2):
            ours["vs_azcollection"] = "azcollection failed"
        elif ours["seconds"]:
            ours["vs_azcollection"] = f"{theirs['seconds'] / ours['seconds']:.2f}x faster"


def markdown(results: dict) -> str:
    lines = ["| " + " | ".join(column[0] for column in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for size in results["sizes"]:
        rows = list(size["runs"]) + [size[k] for k in ("verify", "floor") if k in size]
        rows += [row for base in baselines_of(size) for row in base["runs"]]
        rows += list((size.get("azcollection") or {}).get("runs", []))
        for row in rows:
            lines.append("| " + " | ".join(str(column[1](size, row)) for column in COLUMNS) + " |")
    lines.append("")
    growth = results.get("growth")
    if growth:
        lines.append(f"Time per account (configure, first run) at the largest N over the smallest N >= 50 "
                     f"(target <= 1.1): {growth}")
    growth = results.get("growth_noop")
    if growth:
        lines.append(f"Time per account (configure, no-op run) at the largest N over the smallest N >= 50 "
                     f"(target <= 1.1): {growth}")
    for size in results["sizes"]:
        failing = [k for k, ok in size["targets"].items() if not ok]
        lines.append(f"N={size['accounts']}: targets {'all met' if not failing else 'NOT met: ' + ', '.join(failing)}; "
                     f"writes needed {size['needed_writes']}")
        if size.get("to_floor"):
            lines.append(f"N={size['accounts']}: wall time over the Ansible floor's: " + ", ".join(
                f"{label} {r['ratio']} (goal {'<=' if r['goal'] > 1 else '<'} {r['goal']}: "
                f"{'met' if r['met'] else 'not met'})" for label, r in size["to_floor"].items()))
        noop = size["runs"][1]
        reads = ", ".join(f"{op} {n / max(1, size['accounts']):.2f}" for op, n in noop.get("arm_reads_by_endpoint", {}).items())
        lines.append(f"N={size['accounts']}: no-op run, ARM reads per account by operation: {reads}")
        for base in baselines_of(size):
            failing = [k for k, ok in base["targets"].items() if not ok]
            lines.append(f"N={size['accounts']}: REF {base['short']} ({base['ref']}): targets "
                         f"{'all met' if not failing else 'not met: ' + ', '.join(failing)} "
                         "(not part of the exit status)")
        azc = size.get("azcollection")
        if azc and azc.get("failure"):
            lines.append(f"N={size['accounts']}: azure.azcollection failed: {azc['failure']}")
        if azc:
            lines.append(f"N={size['accounts']}: azure.azcollection, first run, writes by purpose: "
                         f"{azc['runs'][0]['writes_by_purpose']} (needed {azc['needed_writes']})")
            for note in azc["cannot_do"]:
                lines.append(f"N={size['accounts']}: azure.azcollection cannot do: {note}")
        if size.get("azcollection_not_run"):
            lines.append(f"N={size['accounts']}: azure.azcollection not run at this size "
                         f"(--azcollection-sizes {size['azcollection_not_run']})")
    tables = [line for size in results["sizes"] for line in before_after(size)]
    if tables:
        lines += ["", *tables[:-1]]
    return "\n".join(lines) + "\n"


def growth_ratio(sizes: list[dict], run: int = 0) -> float | None:
    """Time per account of a run (0: first, 1: no-op) at the largest N over the smallest N >= 50."""
    candidates = [s for s in sizes if s["accounts"] >= 50]
    if len(candidates) < 2:
        return None
    small = min(candidates, key=lambda s: s["accounts"])
    large = max(candidates, key=lambda s: s["accounts"])
    return round(large["runs"][run]["seconds_per_account"] / small["runs"][run]["seconds_per_account"], 2)


def azcollection_runs_at(accounts: int, sizes: list[int] | tuple[int, ...]) -> bool:
    """Whether azure.azcollection runs at a size: only the sizes asked for (a trial at N=4 says
    --azcollection-sizes 4)."""
    return accounts in sizes


def run_bench(sizes: list[int], *, tenants: int = 2, latency_ms: int = 50, forks: int = 20,
              azcollection: bool = False, azcollection_sizes: list[int] | tuple[int, ...] = AZC_SIZES,
              out: str = "build/bench", log=print, azcollection_again: bool = True,
              baseline: str | None = None) -> dict:
    """Every size; with `baseline` (git refs, comma-separated), each commit's configure.yml too at
    each size."""
    started = time.monotonic()
    results = {"sizes": [], "python": sys.version.split()[0], "cpus": os.cpu_count()}
    bases = [ensure_baseline(ref.strip(), log=log) for ref in (baseline or "").split(",") if ref.strip()]
    base = bases[0] if bases else None
    if base:
        results["baseline"] = {"ref": base.ref, "sha": base.sha, "short": base.short, "worktree": base.worktree}
    for n in sizes:
        with_azc = azcollection and azcollection_runs_at(n, azcollection_sizes)
        size = bench_size(n, tenants=tenants, latency_ms=latency_ms, forks=forks, azcollection=with_azc, log=log,
                          azcollection_again=azcollection_again, baseline=base, more_baselines=tuple(bases[1:]))
        if azcollection and not with_azc:
            size["azcollection_not_run"] = ",".join(map(str, azcollection_sizes)) or "(none)"
        add_ratios(size)
        results["sizes"].append(size)
    results["growth"] = growth_ratio(results["sizes"])
    results["growth_noop"] = growth_ratio(results["sizes"], 1)
    results["bench_seconds"] = round(time.monotonic() - started, 1)
    write_reports(results, out)
    return results


def write_reports(results: dict, out: str) -> tuple[str, str]:
    os.makedirs(out, exist_ok=True)
    json_path, md_path = os.path.join(out, "bench.json"), os.path.join(out, "bench.md")
    with open(json_path, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    with open(md_path, "w", encoding="utf-8") as handle:
        handle.write(markdown(results))
    return json_path, md_path


__all__ = ["run_bench", "bench_size", "markdown", "before_after", "ensure_baseline", "Baseline",
           "write_reports", "needed_writes", "count_requests",
           "lower_bound_seconds", "azcollection_runs_at"]
