"""Engine hardening: per-model lock, progress/cancel, input checks, fast Gauss-Legendre nodes."""

import threading

import numpy as np
import pytest
import torch
from attr_test_models import images, small_cnn

from attr_widgets.attribution import attribute, hook_counts
from attr_widgets.attribution._quadrature import gauss_legendre


def test_gauss_legendre_matches_numpy():
    for n in range(1, 201):
        x, w = gauss_legendre(n)
        ref_x, ref_w = np.polynomial.legendre.leggauss(n)
        np.testing.assert_allclose(x, ref_x, rtol=0, atol=1e-13)
        np.testing.assert_allclose(w, ref_w, rtol=0, atol=1e-13)


def test_gauss_legendre_large_n():
    x, w = gauss_legendre(4096)
    assert np.all(np.diff(x) > 0) and np.all(np.abs(x) < 1)
    assert np.all(w > 0) and abs(w.sum() - 2.0) < 1e-12


def test_two_threads_on_one_model_match_single_threaded():
    model, x = small_cnn(), images(2)
    expected = {m: attribute(model, x, method=m, cache=False).values for m in ("guided_backprop", "saliency")}
    errors: list[BaseException] = []
    results: dict[str, list[torch.Tensor]] = {"guided_backprop": [], "saliency": []}

    def work(method: str) -> None:
        try:
            for _ in range(20):
                results[method].append(attribute(model, x, method=method, cache=False).values)
        except BaseException as error:  # surfaced in the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(m,)) for m in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for method, values in results.items():
        assert len(values) == 20
        for v in values:
            torch.testing.assert_close(v, expected[method], rtol=0, atol=0)
    assert sum(hook_counts(model).values()) == 0


@pytest.mark.parametrize(
    ("method", "kwargs"),
    [("integrated_gradients", {"n_steps": 16}), ("smoothgrad", {"nt_samples": 6}), ("deeplift", {})],
)
def test_progress_reaches_total(method, kwargs):
    model, x = small_cnn(), images(3)
    calls: list[tuple[int, int]] = []
    attribute(model, x, method=method, cache=False, progress=lambda d, t: calls.append((d, t)), **kwargs)
    assert calls and calls[-1][0] == calls[-1][1]
    dones = [d for d, _ in calls]
    assert dones == sorted(dones)
    if method == "integrated_gradients":
        assert calls[-1][1] >= 3 * 16


class Stop(Exception):
    pass


def test_progress_exception_aborts_ig():
    model, x = small_cnn(), images(2)
    calls: list[int] = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 2:  # the first forward on the inputs, then the first chunk of the path
            raise Stop

    with pytest.raises(Stop):
        attribute(
            model,
            x,
            method="integrated_gradients",
            n_steps=50,
            internal_batch_size=10,
            cache=False,
            progress=progress,
        )
    assert len(calls) == 2
    assert sum(hook_counts(model).values()) == 0
    # Progress is not a setting: the same call without it is not a different result.
    a = attribute(model, x, method="saliency", progress=lambda d, t: None)
    assert "progress" not in a.to_dict().get("settings", {})
    assert attribute(model, x, method="saliency") is a


@pytest.mark.parametrize("method", ["guided_backprop", "deeplift"])
def test_progress_exception_inside_captum_leaves_no_hooks(method):
    model, x = small_cnn(), images(2)

    def progress(done: int, total: int) -> None:
        if done > 2:  # after the first forward: inside Captum
            raise Stop

    with pytest.raises(Stop):
        attribute(model, x, method=method, cache=False, progress=progress)
    assert sum(hook_counts(model).values()) == 0


def test_unbatched_image_says_add_a_batch_dim():
    model, x = small_cnn(), images(1)
    with pytest.raises(ValueError, match=r"inputs.*inputs\[None\]"):
        attribute(model, x[0], method="saliency", cache=False)


def test_channels_last_and_wrong_channels_are_named():
    model, x = small_cnn(), images(2)
    with pytest.raises(ValueError, match=r"inputs.*channels-last.*permute"):
        attribute(model, x.permute(0, 2, 3, 1).contiguous(), method="saliency", cache=False)
    with pytest.raises(ValueError, match=r"inputs.*in_channels=3"):
        attribute(model, x[:, :2], method="saliency", cache=False)


@pytest.mark.parametrize("dtype", [torch.float16, torch.float64])
def test_float_inputs_are_cast_to_the_parameters_dtype(dtype):
    model, x = small_cnn(), images(2)
    expected = attribute(model, x, method="saliency", cache=False).values
    got = attribute(model, x.to(dtype), method="saliency", cache=False).values
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected, atol=1e-2 if dtype == torch.float16 else 1e-6, rtol=1e-2)


def test_n_steps_bound_numpy_ints_and_nan_baseline():
    model, x = small_cnn(), images(2)
    with pytest.raises(ValueError, match=r"n_steps.*4096"):
        attribute(model, x, method="integrated_gradients", n_steps=5000, cache=False)
    a = attribute(
        model, x, method="integrated_gradients", n_steps=np.int64(8), target=np.int64(1), cache=False
    )
    b = attribute(model, x, method="integrated_gradients", n_steps=8, target=1, cache=False)
    torch.testing.assert_close(a.values, b.values)
    baseline = torch.zeros_like(x)
    baseline[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="baseline"):
        attribute(model, x, method="integrated_gradients", baseline=baseline, n_steps=4, cache=False)


def test_typo_option_suggests_the_nearest_name():
    model, x = small_cnn(), images(2)
    with pytest.raises(TypeError, match="nt_samples"):
        attribute(model, x, method="smoothgrad", nt_sample=4, cache=False)
