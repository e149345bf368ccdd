"""`vkpipe emulator serve|truth`: run the VK API emulator or write its ground truth."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

import typer

from .config import SCENARIOS, EmulatorConfig, FaultConfig, LatencyConfig, parse_latency
from .server import NEW_DAY_PATH, Emulator
from .timeline import advance
from .truth import write_truth
from .world import World

app = typer.Typer(name="emulator", help="The bundled VK API emulator.", no_args_is_help=True)

# typer's own usage errors exit with 2; ours do too.
USAGE_EXIT = 2


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(USAGE_EXIT)


def _faults(value: str, seed: int) -> FaultConfig:
    if value.strip().lower() in {"off", "0", ""}:
        return FaultConfig.off()
    try:
        rate = float(value)
    except ValueError:
        raise _fail(f"--faults must be a rate in [0, 1] or 'off', got {value!r}") from None
    if not 0 <= rate <= 1:
        raise _fail(f"--faults must be a rate in [0, 1] or 'off', got {value!r}")
    return FaultConfig(rate=rate, seed=seed)


def _tokens(value: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in value.split(",") if t.strip())


def _latency(value: str, seed: int) -> LatencyConfig:
    try:
        return parse_latency(value, seed)
    except ValueError as exc:
        raise _fail(f"--latency: {exc}") from None


def _quotas(values: list[str]) -> dict[str, int]:
    quotas: dict[str, int] = {}
    for value in values:
        method, sep, number = value.partition("=")
        if not sep or "." not in method or not number.strip().isdigit():
            raise _fail(f"--daily-quota must be METHOD=CALLS (e.g. wall.get=5000), got {value!r}")
        quotas[method.strip()] = int(number)
    return quotas


def _scenario(value: str) -> str:
    if value not in SCENARIOS:
        raise _fail(f"--scenario must be one of {', '.join(SCENARIOS)}, got {value!r}")
    return value


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(0, help="Port; 0 picks a free one."),
    scenario: str = typer.Option("small", help="small | standard | large | wide"),
    seed: int = typer.Option(1, help="World and fault seed."),
    faults: str = typer.Option("off", help="Fault rate in [0, 1], or 'off'."),
    tokens: str = typer.Option("emulator-token", help="Comma-separated valid tokens."),
    revoked_tokens: str = typer.Option("", help="Comma-separated revoked tokens (error 5)."),
    tokens_file: Path | None = typer.Option(
        None, help="A file of valid tokens, one per line (added to --tokens)."
    ),
    rate_limit: int = typer.Option(3, help="Requests per token per second; 0 disables."),
    latency: str = typer.Option(
        "off",
        help="Answer times: off, vk (0.15 s + 0.02 s per execute call ± 30%, slow outliers, "
        "up to 40 ms of travel), or BASE[+PER_CALL][~SPREAD][^UPLINK] in seconds.",
    ),
    daily_quota: list[str] = typer.Option(
        [],
        "--daily-quota",
        help="METHOD=CALLS a token may make per day (repeat; e.g. wall.get=5000); past it, "
        "error 29. POST /control/new-day starts a new day.",
    ),
    quota_reset_hour: int = typer.Option(
        0, min=0, max=23, help="Hour (Moscow time) when quota days begin."
    ),
) -> None:
    """Serve the VK API until Ctrl-C/SIGTERM; prints the base URL for VKPIPE_VK_API_URL."""
    if not 0 <= port <= 65535:
        raise _fail(f"--port must be within 0..65535, got {port}")
    if rate_limit < 0:
        raise _fail(f"--rate-limit must be >= 0, got {rate_limit}")
    valid = _tokens(tokens)
    if tokens_file is not None:
        try:
            lines = tokens_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise _fail(f"--tokens-file: cannot read {tokens_file}: {exc.strerror}") from None
        valid += tuple(line.strip() for line in lines if line.strip())
    if not valid:
        raise _fail("--tokens needs at least one token")
    config = EmulatorConfig(
        scenario=_scenario(scenario),
        seed=seed,
        tokens=valid,
        revoked_tokens=_tokens(revoked_tokens),
        rate_limit_per_second=rate_limit or None,
        faults=_faults(faults, seed),
        latency=_latency(latency, seed),
        daily_quotas=_quotas(daily_quota),
        quota_reset_hour=quota_reset_hour,
        host=host,
        port=port,
    )
    emu = Emulator(config)

    async def main() -> None:
        try:
            await emu.start_async()
        except OSError as exc:
            raise _fail(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        typer.echo(f"VKPIPE_VK_API_URL={emu.base_url}")
        groups = emu.world.target_groups()
        typer.echo(
            f"world {scenario} (seed {seed}): {len(groups)} communities: "
            + ", ".join(g.screen_name + (" (closed)" if g.wall_denied else "") for g in groups)
        )
        typer.echo(
            f"valid tokens: {len(valid)}; ground truth: "
            f"vkpipe emulator truth --scenario {scenario} --seed {seed} --out truth.json"
        )
        if config.daily_quotas:
            typer.echo(
                "daily quotas: "
                + ", ".join(f"{m}={n}" for m, n in sorted(config.daily_quotas.items()))
                + f"; start a new day: curl -X POST http://{emu.host}:{emu.port}{NEW_DAY_PATH}"
            )
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    asyncio.run(main())


@app.command()
def truth(
    out: Path = typer.Option(..., "--out", help="Where to write the JSON ground truth."),
    scenario: str = typer.Option("small", help="small | standard | large | wide"),
    seed: int = typer.Option(1, help="World seed."),
    steps: int = typer.Option(
        0, "--advance", min=0, help="The world after this many time steps (as emu.advance())."
    ),
) -> None:
    """Write the ground truth (groups, posts, comments, authors) of the world as JSON."""
    world = World(_scenario(scenario), seed)
    for _ in range(steps):
        advance(world)
    try:
        with out.open("w", encoding="utf-8") as fp:
            counts = write_truth(world, fp)
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc.strerror}") from None
    typer.echo(" ".join(f"{k}={v}" for k, v in counts.items()) + f" -> {out}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
