"""Project set-up: the dependency lists agree, and the lock file pins every dependency."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from workbench import PROJECT_ROOT

ROOT = Path(PROJECT_ROOT)


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra in meta["optional-dependencies"].values():
        reqs += extra
    return {_name(r): r for r in reqs}


def test_environment_yml_matches_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda, pip = [], []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += [d for d in dep["pip"] if not d.startswith("-e")]
        elif _name(dep) not in ("python", "pip"):
            conda.append(dep)
    declared = {_name(d): d.replace(" ", "") for d in conda + pip}
    expected = {k: v.replace(" ", "").replace("[webpdf]", "") for k, v in _pyproject().items()}
    assert set(declared) == set(expected), (
        f"only in environment.yml: {sorted(set(declared) - set(expected))}; "
        f"only in pyproject.toml: {sorted(set(expected) - set(declared))}"
    )
    for name, spec in expected.items():  # same lower bounds
        assert declared[name] == spec, f"{name}: environment.yml {declared[name]!r} vs pyproject {spec!r}"


def test_lock_pins_every_dependency():
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[_name(name)] = version.strip()
    missing = [n for n in _pyproject() if n not in pins]
    assert not missing, f"requirements.lock does not pin: {missing} (run `make lock`)"


def test_readme_shows_the_two_commands_and_ci_calls_make_test():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
