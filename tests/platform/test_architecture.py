"""The layout rules of DESIGN.md, checked on the source so they cannot drift."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ["opsconsole", "sagas", "approvals"]
# The supervisor of `make demo` and its seeding command are the only product-side users of
# the embedded world.
EMULATOR_USERS = {
    "opsconsole/management/commands/demo.py",
    "opsconsole/management/commands/seed_world.py",
}


def product_files() -> list[Path]:
    return sorted(
        p
        for package in PRODUCT
        for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts
    )


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_it_keeps_boto3_inside_the_aws_gateway():
    offenders = [
        rel(p)
        for p in product_files()
        if not rel(p).startswith("opsconsole/aws/")
        and any(
            m == "boto3" or m.startswith(("boto3.", "botocore"))
            for m in imported_modules(ast.parse(p.read_text()))
        )
    ]
    assert offenders == [], f"boto3/botocore imported outside opsconsole/aws/: {offenders}"


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


def test_it_keeps_the_embedded_world_out_of_the_product():
    offenders = [
        rel(p)
        for p in product_files()
        if not rel(p).startswith("opsconsole/emulator/")
        and rel(p) not in EMULATOR_USERS
        and any(
            m.startswith("opsconsole.emulator") for m in imported_modules(ast.parse(p.read_text()))
        )
    ]
    assert offenders == [], f"product code imports opsconsole.emulator: {offenders}"


def test_it_keeps_the_audit_log_free_of_feature_apps():
    for path in (ROOT / "opsconsole" / "audit").rglob("*.py"):
        modules = imported_modules(ast.parse(path.read_text()))
        assert not any(m.startswith(("sagas", "approvals")) for m in modules), rel(path)


def test_it_keeps_sagas_independent_of_other_feature_apps():
    for path in (ROOT / "sagas").rglob("*.py"):
        modules = imported_modules(ast.parse(path.read_text()))
        assert not any(
            m.startswith(("approvals", "opsconsole.recovery", "opsconsole.monitoring"))
            for m in modules
        ), rel(path)


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
