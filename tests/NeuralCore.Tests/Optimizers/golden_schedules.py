"""Golden values for the schedule tests. OneCycle from PyTorch's own OneCycleLR (the policy's reference
implementation; Keras has none); ExponentialDecay and PiecewiseConstantDecay from Keras 3's documented formulas.

Run: /usr/bin/python3 golden_schedules.py
"""
import math

import torch

param = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([param], lr=0.1)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=20, pct_start=0.3,
                                            anneal_strategy="cos", div_factor=25, final_div_factor=1e4,
                                            cycle_momentum=False)
rates = []
for step in range(20):
    rates.append(opt.param_groups[0]["lr"])
    opt.step()
    if step < 19:
        sched.step()
print("one-cycle (0.1, 20 steps):", ", ".join(repr(r) for r in rates))

print("exponential decay (0.1, 10, 0.5):", [0.1 * 0.5 ** (s / 10) for s in (0, 5, 10, 25)])
print("staircase:", [0.1 * 0.5 ** math.floor(s / 10) for s in (0, 5, 10, 25)])
