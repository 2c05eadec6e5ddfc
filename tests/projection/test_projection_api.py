"""The public surface: __all__ lists exactly the public names, and each one is documented."""

from __future__ import annotations

import inspect

import attr_widgets.projection as projection


def test_all_matches_the_public_names():
    public = {
        name
        for name, value in vars(projection).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert set(projection.__all__) == public
    assert len(projection.__all__) == len(set(projection.__all__))


def test_every_public_name_has_a_docstring():
    for name in projection.__all__:
        assert inspect.getdoc(getattr(projection, name)), name


def test_design_md_contract_names_exist():
    from attr_widgets.projection import Projection, important_directions

    params = inspect.signature(important_directions).parameters
    assert list(params)[:3] == ["acts", "grads", "k"]
    assert {"method", "rtol", "oversample", "n_iter", "generator"} <= set(params)
    for attr in (
        "act_basis",
        "grad_basis",
        "singular_values",
        "mean",
        "matrix",
        "coords",
        "objective",
        "__call__",
    ):
        assert hasattr(Projection, attr) or attr in Projection.__dataclass_fields__
