"""The chaos run against the stack ops/ha/up starts (ops/ha/chaos runs this).

Clients create invoices (LIFE POS), invite customers (Yandex) and create users
(AIPIX) through Kopek's HAProxy frontend, each request with an Idempotency-Key and
sent again with the same key until it is answered 2xx. Meanwhile the script kills
the primary node (its Patroni agent and its postgres) with SIGKILL, then postgres
alone on the next primary, then one Kopek process, and makes a planned
switchover. It then reads the database through the primary and reports what was
lost, duplicated or missing, how long writes failed after each event, and the
errors clients saw. Python's standard library only.
"""

import collections
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

SCRATCH = sys.argv[1]
PHASE_SECONDS = float(os.environ.get("CHAOS_PHASE_SECONDS", "20"))
CLIENTS_PER_KIND = int(os.environ.get("CHAOS_CLIENTS_PER_KIND", "2"))
KOPEK = "http://127.0.0.1:8500"
ADMIN = os.environ.get("KOPEK_ADMIN_TOKEN", "ha-admin-token")
PRIMARY_URL = "postgres://postgres:postgres@127.0.0.1:5500/kopek"
LP_HEADERS = {
    "X-LP-Client-Identifier": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "X-LP-Client-Type": "WebApp",
    "X-LP-Client-Name": "chaos",
    "Accept-Language": "ru-RU",
}
START_PRODUCT = "0b6f3f0e-6c1a-4f4e-9d3a-1c2b3d4e5f60"
START_PLAN = "0b6f3f0e-6c1a-4f4e-9d3a-1c2b3d4e5f61"


def call(method, path, body=None, token=ADMIN, headers=None, timeout=15):
    """(status, parsed body, headers); status 0 when no HTTP answer came."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(KOPEK + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null"), response.headers
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text.decode(errors="replace")
        return error.code, parsed, error.headers
    except Exception as error:  # refused, reset, timed out: no answer
        return 0, type(error).__name__, {}


def must(status, body, what):
    if not 200 <= status < 300:
        sys.exit(f"setup failed: {what}: {status} {body}")
    return body


def setup():
    catalog = json.load(open(os.path.join(os.path.dirname(__file__), "../../examples/catalog.json")))
    must(*call("PUT", "/admin/v1/catalog", catalog)[:2], "catalog")
    org = must(*call("POST", "/admin/v1/organizations", {
        "alias": "chaos", "company": {"name": "ООО Хаос", "inn": "7707083893", "kpp": "773601001"}})[:2],
        "organization")["guid"]
    must(*call("POST", "/api/v1/billing/user/manage",
               {"login": "owner@chaos.example", "password": "s3cret-pass", "type": "user"})[:2], "owner")
    must(*call("POST", f"/admin/v1/organizations/{org}/members", {"login": "owner@chaos.example"})[:2], "member")
    session = must(*call("POST", "/auth/sign-in", {
        "full_username": "owner@chaos.example", "password": "s3cret-pass", "response_type": "Session"},
        token=None, headers=LP_HEADERS)[:2], "sign-in")["token"]
    reseller = must(*call("POST", "/admin/v1/resellers", {"name": "Chaos Partner"})[:2], "reseller")["id"]
    reseller_key = must(*call("POST", "/admin/v1/api-keys",
                              {"role": "reseller", "scope": reseller, "name": "chaos"})[:2], "key")["token"]
    return org, session, reseller, reseller_key


class Log:
    """Everything the clients saw, and when."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = []  # (kind, key, effect, time, attempts)
        self.errors = collections.Counter()  # (phase, kind of error)
        self.successes = []  # times of every 2xx answer
        self.phase = "steady"
        self.unfinished = []

    def error(self, what):
        with self.lock:
            self.errors[(self.phase, what)] += 1


def client(kind, n, stop, log, org, session, reseller, reseller_key):
    sequence = 0
    while not stop.is_set():
        sequence += 1
        key = f"{kind}-{n}-{sequence}-{uuid.uuid4().hex[:8]}"
        if kind == "invoice":
            send = lambda: call(
                "POST", f"/orgs/{org}/profile/subscriptions/products/{START_PRODUCT}:create-invoice",
                {"plan": {"guid": START_PLAN, "type_of": "Plan"}, "quantity": 1, "period_in_months": 1},
                token=session, headers={**LP_HEADERS, "Idempotency-Key": key})
            effect = lambda body: body["number"]
        elif kind == "invite":
            send = lambda: call("POST", "/billing/v1/customers:invite", {
                "resellerId": reseller, "name": f"Customer {key}", "invitationEmail": f"{key}@chaos.example",
                "person": {"name": "Ivan Petrov", "longname": "Romashka LLC", "phone": "+7 495 739-70-00",
                           "email": "ivan@romashka.example", "postCode": "119021",
                           "postAddress": "Moscow", "legalAddress": "Moscow", "tin": "7704340310"}},
                token=reseller_key, headers={"Idempotency-Key": key})
            effect = lambda body: body["metadata"]["customerId"]
        else:
            send = lambda: call("POST", "/api/v1/billing/user/manage",
                                {"login": key, "password": "s3cret-pass", "type": "user"},
                                headers={"Idempotency-Key": key})
            effect = lambda body: body["login"]
        attempts = 0
        deadline = time.time() + 120
        while True:
            attempts += 1
            status, body, headers = send()
            if 200 <= status < 300:
                now = time.time()
                with log.lock:
                    log.acked.append((kind, key, effect(body), now, attempts))
                    log.successes.append(now)
                break
            if status == 0:
                log.error(f"{kind}: no answer ({body})")
            else:
                if isinstance(body, dict):
                    code = body.get("code") or (body.get("error") or {}).get("code") or "message only"
                    log.error(f"{kind}: {status} {code}")
                else:
                    log.error(f"{kind}: {status}, not the API's own error (the proxy's page?)")
                if status < 500 and status not in (408, 429):
                    with log.lock:
                        log.unfinished.append((kind, key, status, body))
                    break
            if time.time() > deadline:
                with log.lock:
                    log.unfinished.append((kind, key, status, body))
                break
            wait = float(headers.get("Retry-After", "0.5") or 0.5) if headers else 0.5
            time.sleep(min(wait, 1.0))


def pid_of(path):
    with open(path) as f:
        return int(f.read().split()[0])


def patroni(*args):
    out = subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c",
                          "patronictl -c %s/node1/patroni.yml %s" % (SCRATCH, " ".join(args))],
                         capture_output=True, text=True)
    return out.stdout + out.stderr


def leader():
    status, body, _ = call_raw("http://127.0.0.1:8008/cluster")
    if status == 200:
        for member in body["members"]:
            if member["role"] == "leader":
                return member["name"]
    for n in (1, 2, 3):
        status, body, _ = call_raw(f"http://127.0.0.1:{8007 + n}/cluster")
        if status == 200:
            for member in body["members"]:
                if member["role"] == "leader":
                    return member["name"]
    return None


def call_raw(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read()), response.headers
    except Exception as error:
        return 0, str(error), {}


def kill_node(name):
    """SIGKILL to the node's Patroni agent and its postgres (postmaster and group)."""
    node = f"{SCRATCH}/{name}"
    postmaster = pid_of(f"{node}/data/postmaster.pid")
    os.kill(pid_of(f"{node}/pid"), signal.SIGKILL)
    os.killpg(os.getpgid(postmaster), signal.SIGKILL)


def kill_postgres(name):
    postmaster = pid_of(f"{SCRATCH}/{name}/data/postmaster.pid")
    os.killpg(os.getpgid(postmaster), signal.SIGKILL)


def psql(sql):
    out = subprocess.run(["psql", "-qAtX", PRIMARY_URL, "-c", sql], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return [line for line in out.stdout.splitlines() if line]


def main():
    org, session, reseller, reseller_key = setup()
    log = Log()
    stop = threading.Event()
    threads = [threading.Thread(target=client, args=(kind, n, stop, log, org, session, reseller, reseller_key))
               for kind in ("invoice", "invite", "user") for n in range(CLIENTS_PER_KIND)]
    for t in threads:
        t.start()
    events = []

    def event(name, action):
        log.phase = name
        at = time.time()
        detail = action()
        events.append((name, at, detail))
        print(f"{time.strftime('%H:%M:%S')} {name}: {detail}", flush=True)
        time.sleep(PHASE_SECONDS)

    time.sleep(PHASE_SECONDS / 2)
    first = leader()
    event("kill -9 of the primary node", lambda: (kill_node(first), f"{first} (agent and postgres)")[1])
    # The node comes back as a replica (Patroni rewinds it).
    subprocess.run([f"{SCRATCH}/{first}/start"], check=True)
    second = leader()
    event("kill -9 of postgres alone on the primary", lambda: (kill_postgres(second), f"postgres of {second}")[1])
    event("kill -9 of one Kopek process", lambda: (os.kill(pid_of(f"{SCRATCH}/kopek1/pid"), signal.SIGKILL), "kopek1")[1])
    restart_kopek1()
    third = leader()
    event("planned switchover", lambda: patroni("switchover", "--force", "--leader", third or ""))
    log.phase = "after"
    stop.set()
    for t in threads:
        t.join()
    report(log, events, org)


def restart_kopek1():
    """Kopek's process comes back as a supervisor would start it again."""
    subprocess.run([f"{SCRATCH}/kopek1/start"], check=True)


def report(log, events, org):
    acked = log.acked
    by_kind = collections.defaultdict(list)
    for kind, key, effect, at, attempts in acked:
        by_kind[kind].append(effect)
    rows = psql(f"SELECT number || ' ' || seq FROM invoices WHERE organization_guid = '{org}'")
    numbers = collections.Counter(r.split()[0] for r in rows)
    seqs = sorted(int(r.split()[1]) for r in rows)
    customers = set(psql("SELECT id FROM customers"))
    users = set(psql("SELECT login FROM users"))
    chaos_customers = len(customers)

    lost = [e for e in by_kind["invoice"] if e not in numbers]
    lost += [e for e in by_kind["invite"] if e not in customers]
    lost += [e for e in by_kind["user"] if e not in users]
    duplicate_numbers = [n for n, c in numbers.items() if c > 1]
    missing_seqs = sorted(set(range(1, (seqs[-1] if seqs else 0) + 1)) - set(seqs))
    acked_twice = [e for e, c in collections.Counter(by_kind["invoice"]).items() if c > 1]
    # Each key took effect once: one invoice per acknowledged key and none besides
    # (every key was sent until it was acknowledged).
    unacked_invoices = len(rows) - len(set(by_kind["invoice"]))
    chaos_users = {u for u in users if u.startswith("user-")}
    unacked_users = len(chaos_users) - len(set(by_kind["user"]))
    unacked_customers = chaos_customers - len(set(by_kind["invite"]))
    retried = sum(1 for a in acked if a[4] > 1)

    print()
    print("== events and how long writes failed after each")
    worst = 0.0
    successes = sorted(log.successes)
    for name, at, detail in events:
        after = next((s for s in successes if s > at), None)
        before = max((s for s in successes if s <= at), default=at)
        # The longest pause between two acknowledged writes in the event's phase.
        window = [before] + [s for s in successes if at < s <= at + PHASE_SECONDS]
        gap = max((b - a for a, b in zip(window, window[1:])), default=float("inf"))
        worst = max(worst, gap)
        print(f"{name}: writes again after {gap:.1f} s (first success {((after or at) - at):.1f} s after the event)")
    print("== error responses by kind, per phase")
    for (phase, what), count in sorted(log.errors.items()):
        print(f"  {phase}: {what} x{count}")
    if log.unfinished:
        print(f"== requests never acknowledged: {len(log.unfinished)}, e.g. {log.unfinished[:3]}")
    print("== figures")
    print(f"acknowledged writes: {len(acked)} ({len(by_kind['invoice'])} invoices, {len(by_kind['invite'])} invitations, {len(by_kind['user'])} users); {retried} acknowledged after a retry with the same key")
    print(f"acknowledged writes lost: {len(lost)} (goal 0)")
    print(f"duplicate invoice numbers: {len(duplicate_numbers)}, missing numbers: {len(missing_seqs)} (goal 0)")
    print(f"seconds until writes succeed again: {worst:.1f} at worst (goal under 30)")
    exactly_once = unacked_invoices == 0 and unacked_users == 0 and unacked_customers == 0 and not acked_twice
    print(f"retries with the same key took effect exactly once: {'yes' if exactly_once else 'no'} "
          f"(written without an acknowledged key: {unacked_invoices} invoices, {unacked_customers} customers, {unacked_users} users; a number acknowledged twice: {len(acked_twice)})")
    ok = not lost and not duplicate_numbers and not missing_seqs and worst < 30 and exactly_once and not log.unfinished
    print("chaos: " + ("passed" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
