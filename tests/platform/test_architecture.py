"""The layout rules of DESIGN.md that import-linter cannot express.

Who may import whom is in pyproject.toml's import-linter contracts (`make lint`); this
checks what is not an import: reading the environment, and that the contracts and the
plug-in registries keep up with the apps that exist."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["opsconsole", "sagas", "approvals"]


def product_files() -> list[Path]:
    return sorted(
        p
        for package in PRODUCT
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts
    )


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv", "environb"}:
            lines.append(node.lineno)
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(a.name in {"environ", "getenv"} for a in node.names)
        ):
            lines.append(node.lineno)
    return lines


def _django_settings_default(source: str, line: int) -> bool:
    text = source.splitlines()[line - 1]
    return 'os.environ.setdefault("DJANGO_SETTINGS_MODULE"' in text


def test_it_reads_the_environment_only_in_settings():
    offenders = []
    for path in product_files():
        if rel(path) == "opsconsole/settings.py":
            continue
        source = path.read_text()
        for line in _reads_environment(ast.parse(source)):
            # Django's and Celery's entry points name the settings module; nothing else.
            if not _django_settings_default(source, line):
                offenders.append(f"{rel(path)}:{line}")
    assert offenders == [], f"environment read outside opsconsole/settings.py: {offenders}"


def _contract(name_start: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return next(c for c in config["contracts"] if c["name"].startswith(name_start))


def test_it_names_every_product_module_in_the_emulator_contract():
    # A forbidden contract cannot take "opsconsole but not opsconsole.emulator" as its source,
    # so it lists the modules; a module added later must not slip past it.
    listed = set(_contract("The product never imports the embedded world")["source_modules"])
    top_level = {
        f"opsconsole.{p.stem if p.is_file() else p.name}"
        for p in (ROOT / "opsconsole").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert top_level - {"opsconsole.emulator"} | {"sagas", "approvals"} == listed


def test_it_checks_every_installed_feature_for_independence():
    from django.conf import settings

    platform = {"opsconsole", "opsconsole.identity", "opsconsole.audit"}
    ours = {
        app
        for app in settings.INSTALLED_APPS
        if app.split(".")[0] in PRODUCT and app not in platform
    }
    features = set(_contract("Features are independent")["modules"])
    assert ours == features
    layers = " ".join(_contract("Layers")["layers"])
    assert all(f in layers for f in features)


def test_it_has_every_app_plug_its_pages_into_the_navigation_and_the_case_page():
    from opsconsole import plugins

    assert plugins.registered() == {
        "nav": [
            "approvals",
            "audit",
            "identity",
            "integrations",
            "monitoring",
            "recovery",
            "sagas",
        ],
        "panels": ["approvals", "dead-letters", "tickets"],
        "counters": ["alerts-firing", "approvals-waiting"],
    }


def test_it_lists_every_setting_variable_in_env_example():
    source = (ROOT / "opsconsole" / "settings.py").read_text()
    tree = ast.parse(source)
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.startswith("env_")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
    example = (ROOT / ".env.example").read_text()
    listed = {
        line.split("=", 1)[0]
        for line in example.splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert names - listed == set(), f"missing from .env.example: {sorted(names - listed)}"
