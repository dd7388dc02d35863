"""engine/ never imports Qt, pyqtgraph or the playground (issue 2 acceptance)."""

import pathlib
import re
import subprocess
import sys

ENGINE = pathlib.Path(__file__).resolve().parents[1] / "engine"
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "playground")


def test_no_engine_source_imports_qt():
    pattern = re.compile(r"^\s*(?:from|import)\s+(" + "|".join(FORBIDDEN) + r")\b", re.MULTILINE)
    files = sorted(ENGINE.rglob("*.py"))
    assert len(files) > 5
    offenders = [f"{p.relative_to(ENGINE.parent)}: {m.group(0).strip()}"
                 for p in files for m in pattern.finditer(p.read_text(encoding="utf-8"))]
    dynamic = re.compile(r"import_module\(\s*['\"](" + "|".join(FORBIDDEN) + ")")
    offenders += [str(p.relative_to(ENGINE.parent)) for p in files if dynamic.search(p.read_text(encoding="utf-8"))]
    assert not offenders, "engine/ must not import Qt or the GUI: " + "; ".join(offenders)


def test_importing_every_engine_module_loads_no_qt():
    code = (
        "import importlib, pkgutil, sys\n"
        "import engine\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    if m.name.endswith('__main__'):\n"
        "        continue\n"
        "    importlib.import_module(m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {FORBIDDEN!r})\n"
        "print('LOADED:' + ','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=str(ENGINE.parent))
    assert out.returncode == 0, out.stderr[-2000:]
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("LOADED:")][-1]
    assert line == "LOADED:", f"importing engine loaded: {line[7:]}"
