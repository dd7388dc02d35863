"""Time from process start to the main window shown (target: under 3 s on this machine).

Runs ``python -m playground --quit-after-show --no-restore`` several times in fresh processes
(offscreen unless a display is given) and reports the wall time until the app prints that its
window is shown. The measured process never touches the user's settings or autosave (the window
quits without closing). Usage: ``python benchmarks/bench_startup.py [runs]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time


def one_run(env):
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "playground", "--quit-after-show", "--no-restore"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    shown = None
    for line in proc.stdout:
        if "WINDOW_SHOWN" in line:
            shown = time.perf_counter() - t0
    proc.wait(timeout=60)
    if shown is None:
        raise RuntimeError("the window was never shown")
    return shown


def main(runs=5):
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    with tempfile.TemporaryDirectory() as home:
        env["XDG_CONFIG_HOME"] = os.path.join(home, "config")  # fresh QSettings, no saved layout
        env["XDG_DATA_HOME"] = os.path.join(home, "data")  # no autosave to offer
        times = [one_run(env) for _ in range(runs)]
    print(f"startup to window shown ({env['QT_QPA_PLATFORM']}), {runs} runs: "
          f"median {statistics.median(times):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s "
          f"(target < 3 s)")
    return times


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
