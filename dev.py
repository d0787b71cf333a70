#!/usr/bin/env python3
"""The project's two commands, for a fresh machine that has only Python 3.11.

    python3 dev.py run    # virtualenv, install, migrate, demo data if the database is empty, serve :8000
    python3 dev.py test   # virtualenv, install, the whole test suite (extra arguments go to pytest)

Standard library only: it must work before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("VENV_DIR", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed-hash"
DEMO_HOUSEHOLDS = os.environ.get("DEMO_HOUSEHOLDS", "300")


def _run(*args: str | Path, **kwargs) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, **kwargs)


def ensure_installed() -> None:
    """Create the virtualenv and install the pinned dependencies; skipped when nothing changed."""
    if sys.version_info[:2] != (3, 11):
        print(f"warning: Python 3.11 is expected, this is {sys.version.split()[0]}", file=sys.stderr)
    if not PYTHON.exists():
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    wanted = digest.hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    _run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(PYTHON, "-m", "pip", "install", "--quiet", "-c", "constraints.txt", "-e", ".[dev]")
    STAMP.write_text(wanted)


def manage(*args: str) -> None:
    _run(PYTHON, "manage.py", *args)


def run(extra: list[str]) -> None:
    ensure_installed()
    manage("migrate", "--noinput")
    # Idempotent: loads the small demo set only when the registry is empty, and (re)prints the logins.
    manage("generate_demo_data", "--households", DEMO_HOUSEHOLDS, "--seed", "2015", "--if-empty")
    manage("runserver", *(extra or ["127.0.0.1:8000"]))


def test(extra: list[str]) -> None:
    ensure_installed()
    workers = os.environ.get("TEST_WORKERS", "auto")
    _run(PYTHON, "-m", "pytest", "-n", workers, *extra)


def main() -> None:
    commands = {"run": run, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(2)
    try:
        commands[sys.argv[1]](sys.argv[2:])
    except subprocess.CalledProcessError as exc:
        sys.exit(exc.returncode)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
