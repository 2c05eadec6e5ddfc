import importlib
from pathlib import Path

import attr_widgets


def test_all_names_exist_and_are_public():
    for name in attr_widgets.__all__:
        assert hasattr(attr_widgets, name), f"attr_widgets.__all__ lists {name!r} but it is missing"


def test_public_surface_matches_all():
    public = {
        name
        for name, value in vars(attr_widgets).items()
        if not name.startswith("_") and not isinstance(value, type(importlib))
    }
    missing = sorted(public - set(attr_widgets.__all__))
    assert not missing, f"public but not in __all__: {missing}"


def test_subpackages_declare_all():
    for sub in ("attr_widgets.attribution", "attr_widgets.projection", "attr_widgets.widgets"):
        module = importlib.import_module(sub)
        assert module.__all__, sub
        for name in module.__all__:
            assert hasattr(module, name), f"{sub}.__all__ lists {name!r} but it is missing"


def test_py_typed_marker_is_shipped():
    from pathlib import Path

    assert (Path(attr_widgets.__file__).parent / "py.typed").exists()


def test_torch_libraries_never_import_widgets():
    import subprocess
    import sys

    code = (
        "import sys, attr_widgets.attribution, attr_widgets.projection, attr_widgets.xdnn\n"
        "banned = ('attr_widgets.widgets', 'anywidget', 'ipywidgets')\n"
        "bad = [m for m in sys.modules if m.startswith(banned)]\n"
        "assert not bad, bad\n"
    )
    # Load the subpackages under a bare package object, so this holds whatever attr_widgets/__init__ imports.
    root = Path(__file__).resolve().parents[1]
    env_code = (
        "import sys, types, pathlib\n"
        f"root = pathlib.Path({str(root)!r})\n"
        "pkg = types.ModuleType('attr_widgets'); pkg.__path__ = [str(root / 'attr_widgets')]\n"
        "sys.modules['attr_widgets'] = pkg\n" + code
    )
    result = subprocess.run([sys.executable, "-c", env_code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_import_loads_no_widget_stack_until_asked():
    import subprocess
    import sys

    code = (
        "import sys, attr_widgets, attr_widgets.attribution, attr_widgets.projection\n"
        "bad = [m for m in ('ipywidgets', 'anywidget', 'attr_widgets.widgets') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "assert 'AttributionWidget' in attr_widgets.__all__ and 'AttributionWidget' in dir(attr_widgets)\n"
        "widget = attr_widgets.AttributionWidget\n"
        "assert 'anywidget' in sys.modules\n"
        "from attr_widgets.widgets import AttributionWidget\n"
        "assert widget is AttributionWidget\n"
        "from attr_widgets import AttributionWidget as again\n"
        "assert again is AttributionWidget\n"
        "try:\n"
        "    attr_widgets.no_such_name\n"
        "except AttributeError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('missing names must raise AttributeError')\n"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert result.returncode == 0, result.stderr
