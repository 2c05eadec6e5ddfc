import importlib

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
    assert public <= set(attr_widgets.__all__), f"public but not in __all__: {sorted(public - set(attr_widgets.__all__))}"


def test_subpackages_declare_all():
    for sub in ("attr_widgets.attribution", "attr_widgets.projection", "attr_widgets.widgets"):
        module = importlib.import_module(sub)
        assert module.__all__, sub
        for name in module.__all__:
            assert hasattr(module, name), f"{sub}.__all__ lists {name!r} but it is missing"


def test_py_typed_marker_is_shipped():
    from pathlib import Path

    assert (Path(attr_widgets.__file__).parent / "py.typed").exists()
