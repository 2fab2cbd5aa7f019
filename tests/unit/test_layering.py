"""Layering is a test: which layer may import which, read from the source with `ast`.

- handlers (functions/<name>/handler.py) import only the domain package and Powertools
  (plus `__future__` and `typing`): no boto3, httpx or anything else that belongs below them;
- the domain package never imports `infra` (the CDK app and the local cloud);
- providers never import the product packages (toolkit, mobile, topview).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "layers" / "common" / "python" / "reelgate"
HANDLERS = sorted((ROOT / "functions").glob("*/handler.py"))

HANDLER_ALLOWED = ("reelgate", "aws_lambda_powertools", "__future__", "typing")
DOMAIN_FORBIDDEN = ("infra",)
PROVIDER_FORBIDDEN = ("reelgate.toolkit", "reelgate.mobile", "reelgate.topview")


@dataclass(frozen=True)
class Breach:
    path: str
    line: int
    module: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.module} ({self.rule})"


def _package_of(module: str, is_package: bool) -> list[str]:
    parts = module.split(".")
    return parts if is_package else parts[:-1]


def imported_modules(
    source: str, module: str = "", is_package: bool = False, with_names: bool = True
) -> Iterator[tuple[int, str]]:
    """Every module a source imports (function-level imports too), relative imports made absolute."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module, is_package)
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names if with_names else ():  # `from reelgate import toolkit` imports the package toolkit
                yield node.lineno, f"{target}.{alias.name}"


def _within(module: str, prefixes: Iterable[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def handler_breaches(path: str, source: str) -> list[Breach]:
    found = []
    for line, module in imported_modules(source, with_names=False):
        if not _within(module, HANDLER_ALLOWED):
            found.append(Breach(path, line, module, "a handler imports only reelgate and Powertools"))
    return found


def domain_breaches(path: str, source: str, module: str, is_package: bool) -> list[Breach]:
    found = []
    for line, imported in imported_modules(source, module, is_package):
        if _within(imported, DOMAIN_FORBIDDEN):
            found.append(Breach(path, line, imported, "the domain package never imports infra"))
        if _within(module, ("reelgate.providers",)) and _within(imported, PROVIDER_FORBIDDEN):
            found.append(Breach(path, line, imported, "providers never import toolkit, mobile or topview"))
    return found


def _domain_modules() -> Iterator[tuple[Path, str, bool]]:
    for path in sorted(DOMAIN.rglob("*.py")):
        rel = path.relative_to(DOMAIN.parent).with_suffix("")
        is_package = rel.name == "__init__"
        parts = rel.parts[:-1] if is_package else rel.parts
        yield path, ".".join(parts), is_package


def test_handlers_import_only_the_domain_package_and_powertools() -> None:
    # Given every handler / When their imports are read / Then none reaches below the domain package
    assert HANDLERS, "no handlers found"
    breaches = [b for p in HANDLERS for b in handler_breaches(str(p.relative_to(ROOT)), p.read_text())]
    assert not breaches, "\n".join(map(str, breaches))


def test_domain_never_imports_infra_and_providers_never_import_products() -> None:
    modules = list(_domain_modules())
    assert any(name.startswith("reelgate.providers.") for _, name, _ in modules)
    breaches = [
        b
        for path, name, is_package in modules
        for b in domain_breaches(str(path.relative_to(ROOT)), path.read_text(), name, is_package)
    ]
    assert not breaches, "\n".join(map(str, breaches))


@pytest.mark.parametrize(
    ("source", "module"),
    [
        ("import boto3\n", "boto3"),
        ("from httpx import Client\n", "httpx"),
        ("def f():\n    import botocore.exceptions\n", "botocore.exceptions"),
        ("import os\n", "os"),
    ],
)
def test_a_handler_importing_a_client_library_is_a_named_breach(source: str, module: str) -> None:
    # Given a synthetic handler that imports a client library (a deliberate breach)
    breaches = handler_breaches("functions/bad/handler.py", source)
    # Then the checker fails it, naming the import
    assert [b.module for b in breaches] == [module]
    assert f"functions/bad/handler.py:{breaches[0].line} imports {module}" in str(breaches[0])


def test_a_clean_handler_passes() -> None:
    source = (
        "from __future__ import annotations\nfrom typing import Any\n"
        "from aws_lambda_powertools.event_handler import Response\nfrom reelgate.toolkit import api\n"
    )
    assert handler_breaches("functions/ok/handler.py", source) == []


@pytest.mark.parametrize(
    ("source", "module", "is_package", "breach"),
    [
        ("from infra.registry import FUNCTIONS\n", "reelgate.jobs", False, "infra.registry"),
        ("from reelgate.toolkit import ledger\n", "reelgate.providers.pixverse", False, "reelgate.toolkit"),
        ("from ..mobile.errors import MobileError\n", "reelgate.providers.apphud", False, "reelgate.mobile.errors"),
        ("from reelgate import topview\n", "reelgate.providers", True, "reelgate.topview"),
    ],
)
def test_domain_breaches_are_named(source: str, module: str, is_package: bool, breach: str) -> None:
    # Given a synthetic domain module with a forbidden import (relative ones resolved)
    breaches = domain_breaches("layers/x.py", source, module, is_package)
    # Then the checker names it
    assert breach in [b.module for b in breaches], breaches


def test_products_may_import_providers() -> None:
    assert domain_breaches("x.py", "from reelgate.providers import pixverse\n", "reelgate.mobile.service", False) == []
