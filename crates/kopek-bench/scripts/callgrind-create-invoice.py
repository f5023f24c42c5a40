#!/usr/bin/env python3
"""Instructions a create-invoice costs the server, counted by callgrind.

Usage: callgrind-create-invoice.py <kopek binary> <label> [requests] [postgres|sqlite]

Starts the binary under `valgrind --tool=callgrind` (instrumentation off until
the measured part) on a fresh PostgreSQL database `kopek_cg` (or, with `sqlite`,
a fresh SQLite file, whose engine runs inside the server and so is counted too),
loads the example catalog, makes one organization and its key, warms up with 50
create-invoice requests, then instruments `requests` more (300 by default) on one
keep-alive connection and three seconds after them, so that the background work
they cause (events sealed into their chain, the webhook fan-out) is counted too.
Prints the total and the count a request; `callgrind_annotate --inclusive=yes
/tmp/cg-<label>.out.1` splits it by function. Instruction counts do not depend on
what else the machine is doing, unlike requests a second, so two builds compare
within a percent or two (the background tasks' idle polling is the rest).
valgrind's CPU model has no SHA extensions: hashing is counted in software, which
real AMD and Intel CPUs of this decade do in hardware.
"""
import atexit, http.client, json, os, shutil, socket, subprocess, sys, time, glob
bin_, label = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 300
backend = sys.argv[4] if len(sys.argv) > 4 else "postgres"
out = f"/tmp/cg-{label}.out"
for f in glob.glob(out + "*"): os.remove(f)
data = f"/tmp/cg-data-{label}"
shutil.rmtree(data, ignore_errors=True)
env = dict(os.environ, KOPEK_DATA_DIR=data, KOPEK_LISTEN="127.0.0.1:18555",
           KOPEK_ADMIN_TOKEN="cg-admin-token-0123456789", KOPEK_LOG="warn",
           KOPEK_SQLITE_SYNCHRONOUS="normal")
if backend == "postgres":
    pg = "postgres://postgres@127.0.0.1:5432/postgres"
    subprocess.run(["psql", pg, "-qc", "DROP DATABASE IF EXISTS kopek_cg WITH (FORCE)"], check=True)
    subprocess.run(["psql", pg, "-qc", "CREATE DATABASE kopek_cg"], check=True)
    env["KOPEK_DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/kopek_cg"
else:
    env.pop("KOPEK_DATABASE_URL", None)
# A server left on the port by an earlier run would answer in this one's place.
with socket.socket() as s:
    if s.connect_ex(("127.0.0.1", 18555)) == 0:
        sys.exit("127.0.0.1:18555 is taken (a server of an earlier run?)")
p = subprocess.Popen(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                      f"--callgrind-out-file={out}", bin_, "serve"], env=env,
                     stdout=subprocess.DEVNULL, stderr=open(f"/tmp/cg-{label}.log", "w"))
# A failed run leaves no server behind to answer the next one.
atexit.register(lambda: p.poll() is None and p.kill())
for _ in range(600):
    try:
        c = http.client.HTTPConnection("127.0.0.1", 18555, timeout=30); c.request("GET", "/readyz")
        if c.getresponse().status == 200: break
    except Exception: pass
    time.sleep(0.5)
else:
    sys.exit("not ready")
A = {"Authorization": "Bearer cg-admin-token-0123456789", "Content-Type": "application/json"}
c = http.client.HTTPConnection("127.0.0.1", 18555, timeout=60)
def call(m, path, body, h=A):
    c.request(m, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse(); data = r.read()
    assert r.status < 300, (path, r.status, data)
    return json.loads(data) if data else None
call("PUT", "/admin/v1/catalog", json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../examples/catalog.json"))))
org = call("POST", "/admin/v1/organizations", {"alias": "cg", "company": {"name": "ООО Ромашка", "inn": "7707083893", "kpp": "773601001"}})["guid"]
key = call("POST", "/admin/v1/api-keys", {"role": "organization", "scope": org, "name": "cg"})["token"]
H = {"Authorization": f"Bearer {key}", "Content-Type": "application/json", "Accept-Language": "ru-RU",
     "X-LP-Client-Identifier": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "X-LP-Client-Type": "WebApp"}
path = f"/orgs/{org}/profile/subscriptions/products/0b6f3f0e-6c1a-4f4e-9d3a-1c2b3d4e5f60:create-invoice"
body = {"plan": {"guid": "0b6f3f0e-6c1a-4f4e-9d3a-1c2b3d4e5f61", "type_of": "Plan"}, "quantity": 1, "period_in_months": 12}
for _ in range(50): call("POST", path, body, H)   # warm up
time.sleep(2)
subprocess.run(["callgrind_control", "-i", "on", str(p.pid)], check=True, stdout=subprocess.DEVNULL)
for _ in range(n): call("POST", path, body, H)
time.sleep(3)  # let background work for these requests (sealing, fan-out) run
subprocess.run(["callgrind_control", "-i", "off", str(p.pid)], check=True, stdout=subprocess.DEVNULL)
subprocess.run(["callgrind_control", "-d", str(p.pid)], check=True, stdout=subprocess.DEVNULL)
time.sleep(2)
p.terminate(); p.wait()
files = sorted(glob.glob(out + "*"))
total = 0
for f in files:
    for line in open(f):
        if line.startswith("summary:") or line.startswith("totals:"):
            total = max(total, int(line.split()[1]))
print(f"{label}: {total} instructions over {n} requests = {total // n} a request ({files})")
