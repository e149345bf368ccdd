"""A VK API 5.199 emulator: a deterministic world of communities served over loopback HTTP.

    with run_emulator(EmulatorConfig(scenario="small", seed=1)) as emu:
        emu.base_url            # "http://127.0.0.1:PORT/method"; call f"{base_url}/{method}"
        emu.world.group_screen_names()   # target communities, closed/blocked ones included
        emu.advance()           # time travel one step (timeline.py)
        emu.truth()             # what a perfect crawl stored (truth.py); stream `large` with
                                # write_truth(emu.world, fp)
        emu.stats(); emu.reset_stats(); emu.revoke_token(t); emu.set_faults(FaultConfig.off())
        emu.set_rate_limit(None)

Counting rules are in views.py, time-travel rules in timeline.py, truth rules in truth.py.
"""

from __future__ import annotations

from .config import SCENARIOS, EmulatorConfig, FaultConfig
from .server import Emulator, run_emulator
from .truth import build_truth, write_truth
from .world import World

__all__ = [
    "SCENARIOS",
    "Emulator",
    "EmulatorConfig",
    "FaultConfig",
    "World",
    "build_truth",
    "run_emulator",
    "write_truth",
]
