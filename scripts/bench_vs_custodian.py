"""Benchmark our handlers against Cloud Custodian (c7n) in cloudtrail mode, side by side, on one moto server.

For each case both sides handle the same CloudTrail event, alternating ours / Custodian, and the outcome is
checked in moto after every event (then the account is put back, outside the timed section):

  access_keys   a key created for another user    ours: that key Inactive     c7n: iam-user remove-keys disable
  role_trust    a role trusting {"AWS": "*"}      ours: statement stripped    c7n: cross-account filter (detect only)
  admin_grants  AdministratorAccess on a user     ours: detached              c7n: iam-user set-policy detached

Ours runs the real Lambda handler (functions/<rule>/app.py: the event ledger's one conditional write in the
idempotency table, which claims the event and counts the action budget; findings table, exemption lookup, fix,
verification, SNS publish, remediate mode). Custodian runs its Lambda entry point
(c7n.handler.dispatch_event with the policy's config.json, which calls policy.push(event, context)) with the
policies in scripts/custodian/, each ending in a `notify` to the same SNS topic. Measured: warm time per
event, AWS calls per event by name (a botocore `before-call` hook inside each process), cold start (fresh
process: imports + first event) against `python -c "import boto3; boto3.client('iam')"` in the same venv,
RSS growth over --rss-events warm events, and the size of what each side ships.

Each side runs in a venv of its own under .bench/ (git-ignored), created on first use: Custodian's
(c7n from PyPI; its pins fight ours) and ours (the layer's requirements and boto3 only, the layer on
PYTHONPATH as Lambda mounts it: .venv also holds SAM CLI's awscrt, which botocore would import).
Usage: .venv/bin/python scripts/bench_vs_custodian.py [--reps 15] [--cold-reps 7] [--rss-events 1000] [--json]
Loopback only: it starts `moto_server` on 127.0.0.1 and stops it when done.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "scripts" / "custodian"
C7N_VENV = ROOT / ".bench" / "c7n-venv"
OURS_VENV = ROOT / ".bench" / "ours-venv"
LAYER = ROOT / "layers" / "remediator"
C7N_VERSION = "0.9.53"
ACCOUNT = "123456789012"
REGION = "us-east-1"
TOPIC = "compliance-remediator-findings"
IDEMPOTENCY_TABLE = "idempotency"
FINDINGS_TABLE = "findings"
USER = "bob"
ROLE = "partner-reporting"
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
# What the Lambda runtime provides (boto3 and what it pulls in): not counted in an artifact's size.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3", "six"}

CASES = [
    {
        "id": "access_keys",
        "function": "access_keys",
        "event": "create-access-key-for-another-user.json",
        "policy": "new-access-key.yml",
        "title": "new access key for another user -> deactivate",
        "note": "c7n's remove-keys acts on the user, not on the key in the event: it sets every key of the user "
        "Inactive (the user also holds an older active key here)",
    },
    {
        "id": "role_trust",
        "function": "role_trust",
        "event": "create-role-trusting-everyone.json",
        "policy": "role-trust-everyone.yml",
        "title": 'role trusting {"AWS": "*"} -> strip the statement',
        "note": "c7n: detect only (cross-account filter + notify); it has no action that strips one trust "
        "statement, so the role stays open",
    },
    {
        "id": "admin_grants",
        "function": "admin_grants",
        "event": "attach-administrator-access-to-user.json",
        "policy": "admin-attached-to-user.yml",
        "title": "AdministratorAccess attached to a user -> detach",
        "note": "c7n's set-policy detaches the one ARN its policy names and does not re-read; ours judges the "
        "policy and verifies the detach",
    },
]

FLOOR = "import boto3; boto3.client('iam')"
# A fresh process per run, as a Lambda cold start: the handler's imports, then its first event. The Lambda
# runtime has a log handler in place before it imports the function; so do these.
COLD_OURS = """
import importlib.util, json, logging, os, sys, time
logging.basicConfig(stream=open(os.devnull, "w"))
start = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
app = importlib.util.module_from_spec(spec); spec.loader.exec_module(app)
imported = time.perf_counter()
class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]; memory_limit_in_mb = 256; aws_request_id = "cold"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    def get_remaining_time_in_millis(self): return 30000
app.lambda_handler(json.load(open(sys.argv[2])), Context())
print(f"{imported - start:.4f} {time.perf_counter() - imported:.4f}", file=sys.stderr)
"""
COLD_C7N = """
import json, logging, os, sys, time
logging.basicConfig(stream=open(os.devnull, "w"))
start = time.perf_counter()
from c7n import handler
imported = time.perf_counter()
os.chdir(sys.argv[1])
class Context:
    function_name = "custodian-bench"; aws_request_id = "cold"
handler.dispatch_event(json.load(open(sys.argv[2])), Context())
print(f"{imported - start:.4f} {time.perf_counter() - imported:.4f}", file=sys.stderr)
"""


# ---------------------------------------------------------------------------------------------------------
# Inside a worker process (each side in its own venv): only the standard library up here.


# The calls our handler made during the last event (service, operation, parameters): replayed bare with boto3
# right after it, they are the floor of that event (what the same calls cost without our code around them).
RECORDED: list[tuple[str, str, dict]] = []
RECORDING = [True]


def replay_bare(clients: dict[str, Any]) -> float:
    """The last event's calls again, with plain boto3 clients, timed. The publish goes to an unsubscribed sibling
    topic (the outcome check counts the real topic's messages), which makes this floor a little low."""
    import boto3
    from botocore import xform_name
    from botocore.exceptions import ClientError

    RECORDING.clear()
    calls = list(RECORDED)
    try:
        for service, _, params in calls:
            if service not in clients:
                clients[service] = boto3.client(service)
            if service == "sns" and "TopicArn" in params:
                params["TopicArn"] = clients.setdefault(
                    "floor-topic", clients["sns"].create_topic(Name="bench-floor")["TopicArn"]
                )
        start = time.perf_counter()
        for service, operation, params in calls:
            with contextlib.suppress(ClientError):  # a second detach or a refused conditional write: one round trip
                getattr(clients[service], xform_name(operation))(**params)
        return time.perf_counter() - start
    finally:
        RECORDING.append(True)


def install_call_counter() -> tuple[Counter, Counter]:
    """Count every AWS call by service:operation (a `before-call` hook on every botocore session created from
    now on), and the boto3 clients created, by service."""
    import botocore.session

    calls: Counter = Counter()
    clients: Counter = Counter()
    original_init, original_client = botocore.session.Session.__init__, botocore.session.Session.create_client

    def count(model: Any, **_: Any) -> None:
        calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def record(params: dict, model: Any, **_: Any) -> None:
        if RECORDING:
            RECORDED.append((model.service_model.service_name, model.name, copy.deepcopy(params)))

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.register("before-call", count)
        self.register("provide-client-params", record)

    def create_client(self: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        clients[service_name] += 1
        return original_client(self, service_name, *args, **kwargs)

    botocore.session.Session.__init__ = init
    botocore.session.Session.create_client = create_client
    return calls, clients


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class LambdaContext:
    memory_limit_in_mb = 256
    aws_request_id = "bench"

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def ours_runner() -> Any:
    import importlib.util

    handlers = {}
    for case in CASES:
        spec = importlib.util.spec_from_file_location(
            f"app_{case['function']}", ROOT / "functions" / case["function"] / "app.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        handlers[case["id"]] = (module.lambda_handler, LambdaContext(case["function"]))

    bare: dict[str, Any] = {}

    def run(case_id: str, event: dict) -> dict:
        handler, context = handlers[case_id]
        RECORDED.clear()
        start = time.perf_counter()
        result = handler(event, context)
        elapsed = time.perf_counter() - start
        return {
            "seconds": elapsed,
            "outcomes": [finding["outcome"] for finding in result.get("findings", [])],
            "calls_made": len(RECORDED),
            "floor_seconds": None,
            "_replay": lambda: replay_bare(bare),
        }

    return run


def c7n_runner(configs: dict[str, str]) -> Any:
    """One Custodian Lambda per policy: each keeps its own config.json and the state its cold start built."""
    from c7n import handler

    warm: dict[str, tuple[Any, Any]] = {}

    def run(case_id: str, event: dict) -> dict:
        os.chdir(configs[case_id])  # dispatch_event reads config.json from the working directory on first use
        handler.policy_data, handler.policy_config = warm.get(case_id, (None, None))
        context = LambdaContext(f"custodian-{case_id}")
        start = time.perf_counter()
        handler.dispatch_event(event, context)
        elapsed = time.perf_counter() - start
        warm[case_id] = (handler.policy_data, handler.policy_config)
        return {"seconds": elapsed, "outcomes": []}

    return run


def worker(side: str, configs: str | None) -> int:
    """Handle one JSON command per stdin line; answer on the original stdout; handler output goes to /dev/null."""
    import logging

    answer = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # powertools logs and EMF metrics, as Lambda's stdout
    logging.basicConfig(stream=os.fdopen(devnull, "w"))  # the Lambda runtime's log handler
    calls, clients = install_call_counter()
    run = ours_runner() if side == "ours" else c7n_runner(json.loads(configs or "{}"))
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command["op"] == "event":
                calls.clear()
                clients.clear()
                reply = run(command["case"], command["event"])
                reply.update(calls=dict(calls), clients=sum(clients.values()))
                replay = reply.pop("_replay", None)
                if replay is not None:
                    reply["floor_seconds"] = replay()
            elif command["op"] == "rss":
                reply = {"rss_mb": rss_mb()}
            else:
                return 0
        except Exception:
            reply = {"error": traceback.format_exc()}
        answer.write(json.dumps(reply) + "\n")
    return 0


def dist_sizes(names: list[str]) -> int:
    """Installed bytes of these distributions and everything they require, minus what Lambda provides."""
    import re
    from importlib import metadata

    seen: set[str] = set()
    todo = [name.lower() for name in names]
    total = 0
    while todo:
        name = todo.pop()
        if name in seen or name in RUNTIME_PROVIDED:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        total += sum(
            path.stat().st_size
            for file in dist.files or []
            if (path := Path(str(file.locate()))).is_file()
            and "__pycache__" not in path.parts
            and ".dist-info" not in str(file)
        )
        for requirement in dist.requires or []:
            if "extra ==" in requirement:
                continue
            match = re.match(r"[A-Za-z0-9._-]+", requirement)
            if match:
                todo.append(match.group(0).lower().replace("_", "-"))
    return total


def package_size(package: str) -> int:
    import importlib.util

    spec = importlib.util.find_spec(package)
    assert spec and spec.submodule_search_locations
    return tree_size(Path(next(iter(spec.submodule_search_locations))))


def tree_size(path: Path, bytecode: bool = False) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and (bytecode or "__pycache__" not in f.parts))


# ---------------------------------------------------------------------------------------------------------
# The orchestrator (runs in .venv): the moto server, fixtures, checks, timing summary.


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ensure_venv(venv: Path, pip_args: list[str], inputs: list[Path]) -> Path:
    """A venv of the benchmark's own under .bench/, created on first use and rebuilt when what it installs changes."""
    python = venv / "bin" / "python"
    stamp = venv / ".bench-installed"
    wanted = json.dumps([pip_args, [path.read_text() for path in inputs]])
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    log(f"installing {' '.join(pip_args)} into {venv.relative_to(ROOT)}")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pip_args], check=True
    )
    stamp.write_text(wanted)
    return python


def venvs(c7n_version: str) -> dict[str, Path]:
    """Custodian in a venv of its own (its pins fight ours). Ours in one holding only what runs in Lambda: the
    layer's requirements and boto3 at the version .venv pins (.venv also has awscrt, which SAM CLI pulls in,
    botocore imports and the Lambda runtime lacks); the layer itself comes from PYTHONPATH, as Lambda mounts it."""
    from importlib import metadata

    layer = ROOT / "layers" / "remediator" / "requirements.txt"
    constraints = ROOT / "constraints.txt"
    ours = ensure_venv(
        OURS_VENV,
        ["-r", str(layer), "-c", str(constraints), f"boto3=={metadata.version('boto3')}"],
        [layer, constraints],
    )
    c7n = ensure_venv(C7N_VENV, [f"c7n=={c7n_version}" if c7n_version else "c7n"], [])
    return {"ours": ours, "c7n": c7n}


def environment(endpoint: str) -> dict[str, str]:
    """Both sides: the moto server, fake credentials, one region. Ours: what the template sets."""
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "POWERTOOLS_", "C7N_", "PYTHON"))
    }
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "POWERTOOLS_METRICS_NAMESPACE": "ComplianceRemediator",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "LOG_LEVEL": "INFO",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:{TOPIC}",
            "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
            "FINDINGS_TABLE": FINDINGS_TABLE,
            "OWN_ROLE_ARNS": f"arn:aws:iam::{ACCOUNT}:role/compliance-remediator-functions",
            "AWS_LAMBDA_FUNCTION_NAME": "compliance-remediator",
            "MODE_ACCESS_KEYS": "remediate",
            "MODE_ROLE_TRUST": "remediate",
            "MODE_ADMIN_GRANTS": "remediate",
        }
    )
    return env


class Account:
    """Fixtures and checks, through our own boto3 clients (never counted, never timed)."""

    def __init__(self, findings_table: bool) -> None:
        import boto3

        self.iam, self.sns, self.sqs, self.dynamodb = (boto3.client(name) for name in ("iam", "sns", "sqs", "dynamodb"))
        from remediator.store import table_definition

        self.dynamodb.create_table(
            TableName=IDEMPOTENCY_TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )
        self.tables = {IDEMPOTENCY_TABLE: ["id"]}
        if findings_table:
            self.dynamodb.create_table(**table_definition(FINDINGS_TABLE))
            self.tables[FINDINGS_TABLE] = ["resource", "record"]
        topic = self.sns.create_topic(Name=TOPIC)["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName="bench-inbox")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
        self.iam.create_user(UserName=USER)
        self.events = {case["id"]: json.loads((ROOT / "events" / case["event"]).read_text()) for case in CASES}
        trust = self.events["role_trust"]["detail"]["requestParameters"]["assumeRolePolicyDocument"]
        self.trust = json.loads(trust)
        self.iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=trust)

    def prepare(self, case_id: str) -> tuple[dict, dict]:
        """Put the account in the state the event describes; the event, with a fresh eventID; what to check."""
        event = copy.deepcopy(self.events[case_id])
        event["detail"]["eventID"] = str(uuid.uuid4())
        event["id"] = str(uuid.uuid4())
        state: dict[str, Any] = {}
        if case_id == "access_keys":
            for key in self.iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]:
                self.iam.delete_access_key(UserName=USER, AccessKeyId=key["AccessKeyId"])
            state["older"] = self.iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
            state["new"] = self.iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
            event["detail"]["responseElements"]["accessKey"]["accessKeyId"] = state["new"]
        elif case_id == "role_trust":
            self.iam.update_assume_role_policy(RoleName=ROLE, PolicyDocument=json.dumps(self.trust))
        elif case_id == "admin_grants":
            self.iam.attach_user_policy(UserName=USER, PolicyArn=ADMIN_ARN)
        return event, state

    def open_to_everyone(self) -> bool:
        document = self.iam.get_role(RoleName=ROLE)["Role"]["AssumeRolePolicyDocument"]
        statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
        return any(s.get("Effect") == "Allow" and s.get("Principal") in ("*", {"AWS": "*"}) for s in statements)

    def check(self, side: str, case_id: str, state: dict) -> dict[str, Any]:
        """Assert the outcome of one event in moto; return what else was observed (for the notes)."""
        seen: dict[str, Any] = {"notifications": self.drain()}
        assert seen["notifications"] == 1, f"{side} {case_id}: {seen['notifications']} notifications, expected 1"
        if case_id == "access_keys":
            status = {
                k["AccessKeyId"]: k["Status"] for k in self.iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
            }
            assert status[state["new"]] == "Inactive", f"{side}: the new key is {status[state['new']]}"
            seen["older_key"] = status[state["older"]]
            if side == "ours":
                assert seen["older_key"] == "Active", "ours: the older key was changed"
        elif case_id == "role_trust":
            still_open = self.open_to_everyone()
            if side == "ours":
                assert not still_open, "ours: the trust policy still lets everyone assume the role"
            else:
                assert still_open, "c7n (detect only): the trust policy changed"
            seen["role_open"] = still_open
        elif case_id == "admin_grants":
            attached = [p["PolicyArn"] for p in self.iam.list_attached_user_policies(UserName=USER)["AttachedPolicies"]]
            assert ADMIN_ARN not in attached, f"{side}: AdministratorAccess is still attached"
        if side == "ours":
            self.clear_tables()
        return seen

    def drain(self) -> int:
        """How many notifications arrived since the last drain (moto's SQS hands out every visible message)."""
        count = 0
        while batch := self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", []):
            count += len(batch)
            self.sqs.delete_message_batch(
                QueueUrl=self.queue,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)],
            )
            if len(batch) < 10:
                break
        return count

    def clear_tables(self) -> None:
        """Keep our tables as small as before the event (moto's Query reads a whole table)."""
        requests = {
            table: [
                {"DeleteRequest": {"Key": {k: item[k] for k in keys}}}
                for item in self.dynamodb.scan(TableName=table).get("Items", [])
            ]
            for table, keys in self.tables.items()
        }
        requests = {table: items for table, items in requests.items() if items}
        if requests:
            self.dynamodb.batch_write_item(RequestItems=requests)

    def finish(self) -> None:
        for key in self.iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]:
            self.iam.delete_access_key(UserName=USER, AccessKeyId=key["AccessKeyId"])


class Worker:
    def __init__(self, side: str, python: Path, env: dict[str, str], configs: dict[str, str]) -> None:
        self.side = side
        command = [str(python), str(Path(__file__).resolve()), "--worker", side]
        if side == "c7n":
            command += ["--configs", json.dumps(configs)]
        self.process = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=str(ROOT), bufsize=1
        )

    def ask(self, command: dict) -> dict:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(command) + "\n")
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.side} worker exited (code {self.process.wait()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"{self.side} failed:\n{reply['error']}")
        return reply

    def event(self, case_id: str, event: dict) -> dict:
        return self.ask({"op": "event", "case": case_id, "event": event})

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            assert self.process.stdin
            self.process.stdin.write(json.dumps({"op": "stop"}) + "\n")
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def c7n_configs(directory: Path) -> dict[str, str]:
    """What Custodian's Lambda archive holds: config.json with the policy and its execution options."""
    import yaml

    configs = {}
    for case in CASES:
        policies = yaml.safe_load((POLICIES / case["policy"]).read_text())["policies"]
        folder = directory / case["id"]
        folder.mkdir(parents=True)
        (folder / "config.json").write_text(json.dumps({"execution-options": {}, "policies": policies}, indent=2))
        configs[case["id"]] = str(folder)
    return configs


def policy_names() -> list[str]:
    import yaml

    return [
        policy["name"]
        for case in CASES
        for policy in yaml.safe_load((POLICIES / case["policy"]).read_text())["policies"]
    ]


def one_event(worker: Worker, account: Account, case_id: str) -> tuple[dict, dict]:
    event, state = account.prepare(case_id)
    reply = worker.event(case_id, event)
    if worker.side == "ours":
        assert reply["outcomes"] == ["verified"], f"ours {case_id}: {reply['outcomes']}"
    return reply, account.check(worker.side, case_id, state)


def warm_runs(workers: dict[str, Worker], account: Account, reps: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for case in CASES:
        case_id = case["id"]
        for worker in workers.values():  # the first event of each warm process builds clients and caches
            one_event(worker, account, case_id)
        per_side: dict[str, Any] = {
            side: {"ms": [], "floor_ms": [], "calls": Counter(), "clients": 0, "seen": []} for side in workers
        }
        for rep in range(reps):
            order = ["ours", "c7n"] if rep % 2 == 0 else ["c7n", "ours"]
            for side in order:
                reply, seen = one_event(workers[side], account, case_id)
                per_side[side]["ms"].append(reply["seconds"] * 1000)
                if reply.get("floor_seconds") is not None:
                    per_side[side]["floor_ms"].append(reply["floor_seconds"] * 1000)
                per_side[side]["calls"].update(reply["calls"])
                per_side[side]["clients"] += reply["clients"]
                per_side[side]["seen"].append(seen)
        results[case_id] = {
            side: {
                "median_ms": statistics.median(data["ms"]),
                "ms": data["ms"],
                "floor_median_ms": statistics.median(data["floor_ms"]) if data["floor_ms"] else None,
                "calls_per_event": {name: count / reps for name, count in sorted(data["calls"].items())},
                "clients_per_event": data["clients"] / reps,
                "seen": data["seen"],
            }
            for side, data in per_side.items()
        }
        ours, c7n = results[case_id]["ours"]["median_ms"], results[case_id]["c7n"]["median_ms"]
        floor = results[case_id]["ours"]["floor_median_ms"]
        log(f"  {case_id}: ours {ours:.1f} ms (its calls bare: {floor:.1f} ms), c7n {c7n:.1f} ms (median of {reps})")
    return results


def rss_runs(workers: dict[str, Worker], account: Account, events: int) -> dict[str, Any]:
    """Each side in turn: its warm process handles `events` events, cycling through the cases."""
    results = {}
    for side, worker in workers.items():
        before = worker.ask({"op": "rss"})["rss_mb"]
        for n in range(events):
            one_event(worker, account, CASES[n % len(CASES)]["id"])
        after = worker.ask({"op": "rss"})["rss_mb"]
        results[side] = {"before_mb": before, "after_mb": after, "growth_mb": after - before}
        log(f"  {side}: {before:.1f} -> {after:.1f} MB over {events} events")
    return results


def timed_process(command: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[float, list[float]]:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=cwd)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{command[:3]} failed:\n{done.stderr}")
    phases = [float(part) for part in done.stderr.split()[-2:]] if done.stderr.strip() else []
    return elapsed, phases


def cold_runs(
    pythons: dict[str, Path], account: Account, envs: dict[str, dict[str, str]], configs: dict[str, str], reps: int
) -> dict[str, Any]:
    """Fresh processes on the access_keys case, the four kinds rotating so machine noise hits all alike."""
    runs: dict[str, list[float]] = {kind: [] for kind in ("floor ours", "ours", "floor c7n", "c7n")}
    phases: dict[str, list[list[float]]] = {"ours": [], "c7n": []}
    app = str(ROOT / "functions" / "access_keys" / "app.py")
    with tempfile.TemporaryDirectory() as scratch:
        for rep in range(reps):
            kinds = list(runs)
            kinds = kinds[rep % 4 :] + kinds[: rep % 4]
            for kind in kinds:
                if kind.startswith("floor"):
                    python = pythons[kind.split()[1]]
                    runs[kind].append(timed_process([str(python), "-c", FLOOR], envs["c7n"])[0])
                    continue
                event, state = account.prepare("access_keys")
                path = Path(scratch) / "event.json"
                path.write_text(json.dumps(event))
                if kind == "ours":
                    command = [str(pythons["ours"]), "-c", COLD_OURS, app, str(path)]
                    run_env = {**envs["ours"], "AWS_LAMBDA_FUNCTION_NAME": "access_keys"}
                else:
                    command = [str(pythons["c7n"]), "-c", COLD_C7N, configs["access_keys"], str(path)]
                    run_env = envs["c7n"]
                elapsed, phase = timed_process(command, run_env)
                account.check(kind, "access_keys", state)
                runs[kind].append(elapsed)
                phases[kind].append(phase)
    result: dict[str, Any] = {}
    for side in ("ours", "c7n"):
        floor, cold = statistics.median(runs[f"floor {side}"]), statistics.median(runs[side])
        result[side] = {
            "floor_ms": floor * 1000,
            "cold_ms": cold * 1000,
            "times_floor": cold / floor,
            "imports_ms": statistics.median(p[0] for p in phases[side]) * 1000,
            "first_event_ms": statistics.median(p[1] for p in phases[side]) * 1000,
        }
        log(f"  {side}: {cold * 1000:.0f} ms cold vs floor {floor * 1000:.0f} ms")
    return result


def sizes(pythons: dict[str, Path]) -> dict[str, Any]:
    def ask(python: Path, *args: str) -> dict:
        out = subprocess.run(
            [str(python), str(Path(__file__).resolve()), "--sizes", *args],
            check=True,
            capture_output=True,
            text=True,
            cwd=str(ROOT),
        ).stdout
        return json.loads(out)

    build = ROOT / ".aws-sam" / "build"
    functions = [case["function"] for case in CASES]
    if build.is_dir():
        layer = next((p for p in build.iterdir() if p.is_dir() and "layer" in p.name.lower()), None)
        parts = [p for p in build.iterdir() if p.is_dir()]
        source = sum(tree_size(p) for p in parts)
        ours = {
            "bytes": sum(tree_size(p, bytecode=True) for p in parts),
            "bytes_without_bytecode": source,
            "what": f"the built layer{f' ({layer.name})' if layer else ''} and every function in .aws-sam/build, "
            f"bytecode included as it ships; {kib(source)} without it",
        }
    else:
        requirements = [
            line.split("==")[0].split("[")[0].strip()
            for line in (ROOT / "layers/remediator/requirements.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")
        ]
        deps = ask(pythons["ours"], *requirements)["deps"]
        code = tree_size(ROOT / "layers/remediator/remediator") + sum(
            tree_size(ROOT / "functions" / name) for name in os.listdir(ROOT / "functions")
        )
        ours = {
            "bytes": code + deps,
            "code_bytes": code,
            "deps_bytes": deps,
            "what": "no .aws-sam/build: layers/remediator/remediator + functions/ + the installed layer "
            f"requirements ({', '.join(requirements)} and their dependencies, boto3 excluded)",
        }
    c7n = ask(pythons["c7n"], "c7n")
    return {
        "ours": ours,
        "c7n": {
            "bytes": c7n["deps"],
            "package_bytes": c7n["package"],
            "what": "c7n and its dependencies installed in its venv (boto3 and bytecode excluded); the "
            "Lambda archive of each policy zips the .py files of the c7n package, no bytecode",
        },
        "functions": functions,
    }


def machine(pythons: dict[str, Path]) -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)

    def versions(python: Path, *dists: str) -> str:
        code = (
            "import importlib.metadata as m, platform, sys; "
            "print(platform.python_version(), *(d + ' ' + m.version(d) for d in sys.argv[1:]), sep=', ')"
        )
        return subprocess.run([str(python), "-c", code, *dists], capture_output=True, text=True).stdout.strip()

    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "kernel": platform.release(),
        "ours": versions(pythons["ours"], "boto3", "botocore", "aws-lambda-powertools"),
        "c7n": versions(pythons["c7n"], "c7n", "boto3", "botocore"),
        "moto": versions(Path(sys.executable), "moto"),
    }


def kib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 1024:.0f} KiB"


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "## Ours vs Cloud Custodian (cloudtrail mode)",
        "",
        f"Warm time per event: median of {report['reps']} alternating runs per side on one moto server "
        "(127.0.0.1); ratio = Custodian / ours. Floor of its calls: the AWS calls our handler made for the event, "
        "made again right after it with plain boto3 clients (the publish to an unsubscribed topic), timed; "
        "ours / floor is what our code adds.",
        "",
        "| case | ours (ms) | Custodian (ms) | ratio | ours / floor of its calls | AWS calls ours / c7n | notes |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for case in CASES:
        row = report["warm"][case["id"]]
        ours, c7n = row["ours"], row["c7n"]
        note = case["note"]
        if case["id"] == "access_keys":
            collateral = sum(seen["older_key"] == "Inactive" for seen in c7n["seen"])
            note += f"; c7n disabled the older key in {collateral}/{len(c7n['seen'])} runs"
        lines.append(
            f"| {case['title']} | {ours['median_ms']:.1f} | {c7n['median_ms']:.1f} | "
            f"{c7n['median_ms'] / ours['median_ms']:.2f} | {ours['median_ms'] / ours['floor_median_ms']:.2f} | "
            f"{sum(ours['calls_per_event'].values()):g} / "
            f"{sum(c7n['calls_per_event'].values()):g} | {note} |"
        )
    bookkeeping = "findings table for what must be remembered, " if report["findings_table"] else "no findings table, "
    lines += [
        "",
        "Ours: the rule's Lambda handler (the event ledger: one conditional DynamoDB write claims the eventID and "
        "counts the action budget; exemption lookup, "
        f"{bookkeeping}fix, re-read to verify, SNS publish). Custodian: its Lambda "
        "entry point with the policy's config.json (resource lookup by the id in the event, filters, actions, "
        "`notify` to the same SNS topic); it keeps no idempotency record and does not re-read after acting.",
        "",
        "### AWS calls per warm event, by name",
        "",
    ]
    for case in CASES:
        for side, label in (("ours", "ours"), ("c7n", "Custodian")):
            calls = report["warm"][case["id"]][side]["calls_per_event"]
            clients = report["warm"][case["id"]][side]["clients_per_event"]
            lines.append(
                f"- {case['id']}, {label}: "
                + ", ".join(f"{name} {count:g}" for name, count in calls.items())
                + f" (boto3 clients created: {clients:g})"
            )
    cold = report["cold"]
    lines += [
        "",
        f"### Cold start (fresh process: imports + first event, access_keys; median of {report['cold_reps']})",
        "",
        "| side | floor (ms) | cold (ms) | x floor | imports (ms) | first event (ms) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for side, label in (("ours", "ours"), ("c7n", "Custodian")):
        c = cold[side]
        lines.append(
            f"| {label} | {c['floor_ms']:.0f} | {c['cold_ms']:.0f} | {c['times_floor']:.2f} | "
            f"{c['imports_ms']:.0f} | {c['first_event_ms']:.0f} |"
        )
    lines += [
        "",
        "Floor: `python -c \"import boto3; boto3.client('iam')\"` in the same venv. Both sides import "
        "from bytecode cached on this disk; in Lambda our layer ships its bytecode while Custodian's archive "
        "holds .py files only, so there its cold start also compiles c7n (not measured here).",
    ]
    if report["rss"]:
        lines += [
            "",
            f"### RSS over {report['rss_events']} warm events (cycling the cases, one process per side)",
            "",
            "Custodian's `notify` asks its session factory for a new boto3 session on every event "
            "(c7n/credentials.py, SessionFactory.__call__).",
            "",
            "| side | before (MB) | after (MB) | growth (MB) |",
            "|---|---:|---:|---:|",
        ]
        for side, label in (("ours", "ours"), ("c7n", "Custodian")):
            r = report["rss"][side]
            lines.append(f"| {label} | {r['before_mb']:.1f} | {r['after_mb']:.1f} | {r['growth_mb']:+.1f} |")
    size = report["sizes"]
    lines += [
        "",
        "### Artifact size",
        "",
        f"- ours: {kib(size['ours']['bytes'])} ({size['ours']['what']})",
        f"- Custodian: {kib(size['c7n']['bytes'])} ({size['c7n']['what']}: {kib(size['c7n']['package_bytes'])})",
    ]
    m = report["machine"]
    lines += [
        "",
        "### Machine",
        "",
        f"- {m['nproc']} CPUs: {m['cpu']}; Linux {m['kernel']}",
        f"- ours: Python {m['ours']}",
        f"- Custodian: Python {m['c7n']}",
        f"- moto server: Python {m['moto']}",
        f"- findings table: {'on' if report['findings_table'] else 'off'}; "
        "both sides log at INFO to /dev/null and notify one SNS topic per event",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=15, help="warm events per case and side (default 15)")
    parser.add_argument("--cold-reps", type=int, default=7, help="fresh processes per kind (default 7)")
    parser.add_argument("--rss-events", type=int, default=1000, help="warm events per side for RSS (default 1000)")
    parser.add_argument("--c7n-version", default=C7N_VERSION, help="c7n version for its venv ('' = newest)")
    parser.add_argument(
        "--no-findings-table",
        action="store_true",
        help="run ours without FINDINGS_TABLE (no finding tracking; the ledger still counts the budget)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of Markdown")
    parser.add_argument("--worker", choices=("ours", "c7n"), help=argparse.SUPPRESS)
    parser.add_argument("--configs", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.configs)
    if args.sizes is not None:
        print(
            json.dumps(
                {
                    "deps": dist_sizes(args.sizes),
                    "package": package_size(args.sizes[0].replace("-", "_")) if args.sizes[0] == "c7n" else 0,
                }
            )
        )
        return 0
    if args.reps < 1 or args.cold_reps < 1 or args.rss_events < 0:
        parser.error("--reps and --cold-reps must be at least 1, --rss-events at least 0")

    pythons = venvs(args.c7n_version)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = environment(endpoint)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        env={**env, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    workers: dict[str, Worker] = {}
    scratch = Path(tempfile.mkdtemp(prefix="bench-c7n-"))
    report: dict[str, Any] = {
        "reps": args.reps,
        "cold_reps": args.cold_reps,
        "rss_events": args.rss_events,
        "findings_table": not args.no_findings_table,
    }
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        if args.no_findings_table:
            env.pop("FINDINGS_TABLE")
        os.environ.update(env)
        account = Account(findings_table=not args.no_findings_table)
        configs = c7n_configs(scratch)
        log("warm events")
        envs = {"ours": {**env, "PYTHONPATH": str(LAYER)}, "c7n": env}
        workers = {side: Worker(side, pythons[side], envs[side], configs) for side in ("ours", "c7n")}
        report["warm"] = warm_runs(workers, account, args.reps)
        log("RSS")
        report["rss"] = rss_runs(workers, account, args.rss_events) if args.rss_events else {}
        for worker_ in workers.values():
            worker_.stop()
        log("cold starts")
        report["cold"] = cold_runs(pythons, account, envs, configs, args.cold_reps)
        account.finish()
    finally:
        for worker_ in workers.values():
            worker_.stop()
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)
        for name in policy_names():  # Custodian's Lambda writes its run output under /tmp/<policy name>
            shutil.rmtree(Path("/tmp") / name, ignore_errors=True)
    report["sizes"] = sizes(pythons)
    report["machine"] = machine(pythons)
    print(json.dumps(report, indent=2) if args.json else markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
