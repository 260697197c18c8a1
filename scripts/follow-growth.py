#!/usr/bin/env python3
"""What a follower costs as the log it follows grows (the engine-session issue's figures).

A generated log of one centre's day (CSV) is appended at a steady rate, so that it reaches
its full size in `--seconds`, to a file that `callsift analyze --follow --emit-every 1s`
follows (with and without `--state`). Every second the follower's CPU time is read from
/proc. Printed, for each binary given (side by side in one sitting, the same log):
  - CPU seconds per second of the follower early on (seconds 15-35) and at the end
    (seconds 75-95 of 100), and their ratio;
  - its CPU time in all, against one batch run (`analyze`) over the finished file;
  - its peak RSS (VmHWM) against the batch run's.

    python3 scripts/follow-growth.py [--calls 1000000] [--seconds 100] BINARY [BINARY...]

Build the binaries first (`swift build -c release`).
"""
import argparse, os, resource, subprocess, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("--calls", type=int, default=1000000)
ap.add_argument("--seconds", type=float, default=100)
ap.add_argument("--state", action="store_true", help="follow with --state (a fresh folder)")
ap.add_argument("binaries", nargs="+")
a = ap.parse_args()

env = dict(os.environ, CALLSIFT_KEY="follow-growth")
d = tempfile.mkdtemp(prefix="callsift-growth-")
src = f"{d}/day.csv"
B0 = os.path.abspath(a.binaries[0])
subprocess.run([B0, "generate", "--seed", "5", "--calls", str(a.calls), "--centres", "1", "--days", "1", "-o", src], check=True, env=env)
data = open(src, "rb").read()
lines = data.count(b"\n")


def cpu_seconds(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def peak_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def follow(binary, state):
    live, out = f"{d}/live.csv", f"{d}/live.json"
    open(live, "wb").close()
    args = [binary, "analyze", "--follow", "--emit-every", "1s", "-o", out]
    if state:
        sdir = tempfile.mkdtemp(prefix="state-", dir=d)
        args += ["--state", sdir]
    p = subprocess.Popen(args + [live], env=env, stderr=subprocess.DEVNULL)
    time.sleep(1)
    start, written, samples, peak = time.time(), 0, [], 0
    with open(live, "ab") as f:
        while True:
            elapsed = time.time() - start
            target = min(len(data), int(len(data) * elapsed / a.seconds))
            cut = data.rfind(b"\n", written, target) + 1
            if cut > written:
                f.write(data[written:cut])
                f.flush()
                written = cut
            samples.append((elapsed, cpu_seconds(p.pid)))
            peak = max(peak, peak_kb(p.pid))
            if elapsed >= a.seconds:
                break
            time.sleep(0.25)
    time.sleep(3)  # the last emit
    total = cpu_seconds(p.pid)
    peak = max(peak, peak_kb(p.pid))
    p.terminate()
    p.wait()

    def cpu_between(t0, t1):
        s = [c for (t, c) in samples if t0 <= t <= t1]
        return (s[-1] - s[0]) / (t1 - t0)

    early, late = cpu_between(0.15 * a.seconds, 0.35 * a.seconds), cpu_between(0.75 * a.seconds, 0.95 * a.seconds)
    return early, late, total, peak


def batch(binary):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run(["/usr/bin/time", "-f", "%M", binary, "analyze", "-o", "/dev/null", src], env=env, stderr=subprocess.PIPE, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, int(r.stderr.decode().strip().splitlines()[-1])


print(f"log: {a.calls} calls, {lines} lines, {len(data) / 1e6:.1f} MB, appended over {a.seconds:.0f} s; --emit-every 1s{' --state' if a.state else ''}")
print("| binary | CPU/s at 15-35% | CPU/s at 75-95% | end/start | follower CPU s | batch CPU s | ratio | follower peak MB | batch peak MB | ratio |")
print("|---|---|---|---|---|---|---|---|---|---|")
for b in a.binaries:
    early, late, total, peak = follow(os.path.abspath(b), a.state)
    bcpu, bpeak = batch(os.path.abspath(b))
    print(
        f"| {b} | {early:.3f} | {late:.3f} | {late / early:.2f} | {total:.1f} | {bcpu:.1f} | {total / bcpu:.2f} "
        f"| {peak / 1024:.0f} | {bpeak / 1024:.0f} | {peak / bpeak:.2f} |",
        flush=True,
    )
