#!/usr/bin/env python3
"""Latency and idle cost of `callsift analyze --follow` (the live-mode issue's figures).

A log of one centre's day (generated) is appended in bursts to a file that a release
build follows. For each burst: the time from the append until the report shows every line
of it (polled every 10 ms). Then the follower is left idle for a minute and its CPU time
over that minute is read from /proc. Run from the repository root:

    python3 scripts/live-figures.py [--emit-every 30s] [--bursts 6] [--idle 60]
"""
import argparse, json, os, random, subprocess, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--emit-every", default="30s")
ap.add_argument("--bursts", type=int, default=6)
ap.add_argument("--calls", type=int, default=30000)
ap.add_argument("--idle", type=float, default=60)
a = ap.parse_args()

subprocess.run(["swift", "build", "-c", "release", "--product", "callsift"], check=True, stdout=subprocess.DEVNULL)
B = os.path.abspath(".build/release/callsift")
env = dict(os.environ, CALLSIFT_KEY="live-figures")
d = tempfile.mkdtemp(prefix="callsift-live-")
src, live, out = f"{d}/day.csv", f"{d}/live.csv", f"{d}/today.json"
subprocess.run([B, "generate", "--seed", "9", "--calls", str(a.calls), "--centres", "1", "--days", "1", "-o", src], check=True, env=env)
lines = open(src, "rb").read().split(b"\n")
header, body = lines[0] + b"\n", [l + b"\n" for l in lines[1:] if l]
per = (len(body) + a.bursts - 1) // a.bursts
chunks = [body[i:i + per] for i in range(0, len(body), per)]
open(live, "wb").write(header)
p = subprocess.Popen([B, "analyze", "--follow", "--emit-every", a.emit_every, "-o", out, live], env=env, stderr=subprocess.DEVNULL)

def lines_shown():
    try:
        return json.load(open(out))["accounting"]["lines"]
    except Exception:
        return -1

def cpu_seconds(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

written, lat = 0, []
time.sleep(2)
for c in chunks:
    with open(live, "ab") as f:
        f.write(b"".join(c))
    written += len(c)
    t0 = time.time()
    while lines_shown() != written:
        time.sleep(0.01)
    lat.append(time.time() - t0)
    time.sleep(1 + 3 * random.random())  # so bursts land at different points of the emit cycle
c0 = cpu_seconds(p.pid)
time.sleep(a.idle)
idle = cpu_seconds(p.pid) - c0
p.terminate()
status = p.wait()
print(f"--emit-every {a.emit_every}, {len(chunks)} bursts of about {per} lines ({a.calls} calls in all):")
print(f"  latency from append to report: min {min(lat):.2f} s, median {sorted(lat)[len(lat)//2]:.2f} s, max {max(lat):.2f} s")
print(f"  idle for {a.idle:.0f} s: {idle:.2f} CPU seconds ({100 * idle / a.idle:.3f}% of one core)")
print(f"  SIGTERM: exit {status}")
