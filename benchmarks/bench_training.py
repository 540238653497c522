"""How fast each task of attention_core.training is learned (README, "Watch it learn").

    python benchmarks/bench_training.py

For every task and seeds 0-4: the wall time of the whole run (STEPS steps, as the page trains), the first
step from which the batch accuracy stays at 95 % or more for 20 steps, the time to reach it (the run's time
per step × that step), and the final accuracy. Medians over the seeds.
"""

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from attention_core.training import STEPS, TASKS, train

SEEDS = range(5)


def learned_at(accuracy, level=0.95, hold=20):  # -> first step (1-based) from which accuracy holds >= level
    good = accuracy >= level
    for step in range(len(good) - hold + 1):
        if good[step : step + hold].all():
            return step + 1
    return None


def main():
    print(
        f"{STEPS} steps of Adam, batches of 64 sentences of 8 tokens, d_model 32, d_k 16; medians over seeds 0-4\n"
    )
    print("| task | whole run s | ≥ 95 % from step | ≥ 95 % after s | final accuracy (last 20 steps) |")
    print("|---|---|---|---|---|")
    for name in TASKS:
        walls, steps, reach, final = [], [], [], []
        for seed in SEEDS:
            start = time.perf_counter()
            run = train(name, seed=seed)
            wall = time.perf_counter() - start
            at = learned_at(run.accuracy)
            walls.append(wall)
            steps.append(at if at is not None else np.inf)
            reach.append(wall / STEPS * at if at is not None else np.inf)
            final.append(run.accuracy[-20:].mean())
        print(
            f"| {name} | {statistics.median(walls):.2f} | {statistics.median(steps):.0f} | "
            f"{statistics.median(reach):.2f} | {statistics.median(final):.1%} |"
        )


if __name__ == "__main__":
    main()
