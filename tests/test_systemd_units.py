"""deploy/systemd: the units verify with systemd's own checker, and each ExecStart is a command the CLI
accepts. (Debian's systemd provides `systemd-analyze`; .ci/run installs it.)"""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import build_parser
from tests.paths import REPO

UNITS = REPO / "deploy" / "systemd"
SERVICES = sorted(UNITS.glob("*.service"))
INSTALLED = "/opt/lookalike/.venv/bin/lookalike"  # where docs/deployment.md installs the project
ANALYZE = shutil.which("systemd-analyze")
needs_systemd = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is absent (Debian's systemd)")
HARDENING = (
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "RestrictAddressFamilies=",
    "SystemCallFilter=@system-service",
    "CapabilityBoundingSet=",
)


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    return parser


def installed_here(folder: Path) -> list[Path]:
    """The units, with the installed command replaced by this checkout's (verify checks it exists)."""
    here = str(Path(sys.executable).parent / "lookalike")
    copies = []
    for path in sorted(UNITS.glob("lookalike-*")):
        copy = folder / path.name
        copy.write_text(path.read_text(encoding="utf-8").replace(INSTALLED, here), encoding="utf-8")
        copies.append(copy)
    return copies


def verify(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, "verify", "--man=no", *map(str, paths)], capture_output=True, text=True, timeout=120
    )


def test_every_unit_the_deployment_needs_is_there() -> None:
    names = {p.name for p in UNITS.iterdir()}
    assert {
        "lookalike-bot.service",
        "lookalike-scheduler.service",
        "lookalike-worker.service",
        "lookalike-backup.service",
        "lookalike-backup.timer",
    } <= names


@needs_systemd
def test_the_units_verify_without_a_word_from_systemd(tmp_path: Path) -> None:
    result = verify(installed_here(tmp_path))
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stdout + result.stderr


@needs_systemd
def test_verify_does_report_a_key_systemd_does_not_know(tmp_path: Path) -> None:
    """The check above can fail: an unknown key is named (with exit status 0, hence the empty-output rule)."""
    bot = next(p for p in installed_here(tmp_path) if p.name == "lookalike-bot.service")
    bot.write_text(bot.read_text().replace("ProtectHome=yes", "ProtectHomes=yes"))
    result = verify([bot])
    assert "Unknown key 'ProtectHomes'" in result.stdout + result.stderr


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_each_service_runs_as_its_own_user_with_its_state_directory_and_hardening(service: Path) -> None:
    section = unit(service)["Service"]
    assert section["User"] == "lookalike" and section["StateDirectory"] == "lookalike"
    if service.name != "lookalike-backup.service":  # a oneshot run by its timer
        assert section["Restart"] == "always"
        assert section["EnvironmentFile"] == "/etc/lookalike/lookalike.env"
    text = service.read_text(encoding="utf-8")
    for line in HARDENING:
        assert re.search(rf"^{re.escape(line)}", text, re.MULTILINE), f"{service.name}: {line}"


def command_line(service: Path) -> list[str]:
    """The ExecStart's arguments after the program, as systemd would pass them: specifiers and ${VAR}s
    expanded (%S for a system unit, the unit's own Environment= defaults, an example LOOKALIKE_CLUSTER)."""
    section = unit(service)["Service"]
    defaults = dict(item.split("=", 1) for item in shlex.split(section.get("Environment", "")))
    defaults.setdefault("LOOKALIKE_CLUSTER", "tcp://10.0.0.2:8786")
    expanded = section["ExecStart"].replace("%S", "/var/lib")
    expanded = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], expanded)
    program, *arguments = shlex.split(expanded)
    assert program == INSTALLED
    return arguments


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_each_exec_start_is_a_command_the_cli_accepts(service: Path) -> None:
    arguments = command_line(service)
    parsed = build_parser().parse_args(arguments)  # SystemExit (a failure) if the CLI refused them
    help_ = subprocess.run(
        [sys.executable, "-m", "bot", parsed.command, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert help_.returncode == 0 and f"usage: lookalike {parsed.command}" in help_.stdout


def test_the_backup_runs_daily_and_keeps_seven_in_the_state_directory() -> None:
    timer = unit(UNITS / "lookalike-backup.timer")
    assert timer["Timer"]["OnCalendar"] == "daily" and timer["Timer"]["Persistent"] == "true"
    arguments = command_line(UNITS / "lookalike-backup.service")
    parsed = build_parser().parse_args(arguments)
    assert (parsed.command, parsed.keep, parsed.target) == ("backup", 7, "/var/lib/lookalike/backups")
    assert parsed.db == "/var/lib/lookalike/gallery.sqlite"
    bot = unit(UNITS / "lookalike-bot.service")["Service"]
    assert "LOOKALIKE_DB=%S/lookalike/gallery.sqlite" in bot["Environment"]
