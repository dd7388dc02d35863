"""Start-up guards of the application entry point."""

import sys

import PySide6
import pytest

from playground import app


def test_the_refcount_broken_pyside_is_named_with_its_fix(monkeypatch):
    monkeypatch.setattr(PySide6, "__version__", "6.12.0")
    msg = app.broken_pyside_version()
    if sys.version_info >= (3, 12):
        assert msg is None
    else:
        assert "6.12.0" in msg and "PySide6-Essentials<6.12" in msg


def test_installed_pyside_is_not_a_broken_one():
    assert app.broken_pyside_version() is None, "pyproject.toml pins PySide6 below the broken release"


@pytest.mark.parametrize("version", ["6.11.3", "6.7.0"])
def test_other_releases_pass(monkeypatch, version):
    monkeypatch.setattr(PySide6, "__version__", version)
    assert app.broken_pyside_version() is None
