"""The synced trait types: coercion of torch/numpy input and errors that name the argument."""

import numpy as np
import pytest
import torch
import traitlets
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from traitlets import TraitError

from attr_widgets.widgets._serialize import binary_array, channel_sum, display_rgba, unpack
from attr_widgets.widgets._traits import (
    BinaryArray,
    BoundedFloat,
    BoundedInt,
    Choice,
    ClassIndex,
    ImageTensor,
    InvalidTypeError,
    InvalidValueError,
)


class Holder(traitlets.HasTraits):
    inputs = ImageTensor()
    mode = Choice("b", ["alpha", "beta", "gamma"])
    steps = BoundedInt(5, 1, 10)
    alpha = BoundedFloat(0.5, 0.0, 1.0)
    target = ClassIndex(0)
    array = BinaryArray(allow_none=True, default_value=None)

    def __init__(self, **kwargs):
        self._num_classes = 4
        self.rejected = []
        super().__init__(**kwargs)

    def _top_class(self):
        return 2

    def _trait_rejected(self, name, error):
        self.rejected.append(name)


def test_image_accepts_chw_and_numpy():
    h = Holder()
    h.inputs = torch.ones(3, 5, 6)
    assert h.inputs.shape == (1, 3, 5, 6)
    h.inputs = np.zeros((1, 1, 4, 4), dtype=np.float32)
    assert isinstance(h.inputs, torch.Tensor) and h.inputs.shape == (1, 1, 4, 4)


def test_image_is_detached():
    x = torch.ones(1, 1, 2, 2, requires_grad=True)
    h = Holder(inputs=x)
    assert not h.inputs.requires_grad


def test_image_converts_to_the_widgets_dtype():
    h = Holder()
    h._input_dtype = torch.float32
    h.inputs = np.zeros((1, 2, 2), dtype=np.float64)
    assert h.inputs.dtype == torch.float32


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (torch.ones(8, 8), InvalidValueError, r"inputs must be an image of shape \[1, C, H, W\].*x\[None\]"),
        (torch.ones(2, 1, 8, 8), InvalidValueError, r"one image \(batch size 1\), got a batch of 2"),
        (torch.ones(1, 1, 0, 8), InvalidValueError, "empty dimension"),
        (torch.ones(1, 1, 8, 8, dtype=torch.uint8), InvalidTypeError, r"floating-point.*x.float\(\) / 255"),
        ([[1.0, 2.0]], InvalidTypeError, "torch.Tensor or numpy array"),
        (None, InvalidTypeError, "got NoneType"),
    ],
)
def test_image_rejects_non_images(value, error, message):
    h = Holder()
    with pytest.raises(error, match=message):
        h.inputs = value
    assert h.rejected == ["inputs"]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_image_rejects_non_finite_pixels(bad):
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 1, 2] = bad
    with pytest.raises(InvalidValueError, match="inputs contains 1 NaN or Inf pixel"):
        Holder(inputs=x)


def test_errors_are_value_and_type_errors_too():
    assert issubclass(InvalidValueError, ValueError) and issubclass(InvalidValueError, TraitError)
    assert issubclass(InvalidTypeError, TypeError) and issubclass(InvalidTypeError, TraitError)


def test_choice_suggests_the_nearest_name():
    h = Holder()
    with pytest.raises(InvalidValueError, match=r"mode='gama' is not available here. Did you mean 'gamma'\?"):
        h.mode = "gama"
    with pytest.raises(InvalidTypeError, match="mode must be a str"):
        h.mode = 3


def test_choice_reads_per_widget_choices():
    h = Holder()
    h._choices = {"mode": ["only"]}
    h.mode = "only"
    with pytest.raises(InvalidValueError, match="Expected one of: only"):
        h.mode = "alpha"


def test_bounded_numbers_coerce_and_reject():
    h = Holder()
    h.steps = np.int64(7)
    assert h.steps == 7 and type(h.steps) is int
    h.steps = torch.tensor(3)
    assert h.steps == 3
    h.alpha = torch.tensor(0.25)
    assert h.alpha == 0.25
    with pytest.raises(InvalidValueError, match="steps must be between 1 and 10, got 11"):
        h.steps = 11
    with pytest.raises(InvalidTypeError, match="steps must be an int"):
        h.steps = 2.5
    with pytest.raises(InvalidTypeError, match="steps must be an int"):
        h.steps = True
    with pytest.raises(InvalidValueError, match="alpha must be between 0.0 and 1.0"):
        h.alpha = 1.5


def test_class_index_range_and_top_class_default():
    h = Holder()
    h.target = None
    assert h.target == 2
    h.target = np.int32(3)
    assert h.target == 3
    message = r"target 4 is out of range: the model has 4 classes \(0..3\)"
    with pytest.raises(InvalidValueError, match=message):
        h.target = 4
    with pytest.raises(InvalidValueError, match="out of range"):
        h.target = -1


def test_binary_array_trait_refuses_lists():
    h = Holder()
    h.array = binary_array(np.zeros(3, np.float32))
    with pytest.raises(InvalidTypeError, match="binary array"):
        h.array = {"view": [0.0, 1.0], "dtype": "float32", "shape": [2]}


def test_binary_array_is_a_memoryview_of_the_bytes():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    packed = binary_array(a)
    assert isinstance(packed["view"], memoryview)
    assert packed["view"].nbytes == 24
    assert packed["dtype"] == "float32" and packed["shape"] == [2, 3]
    np.testing.assert_array_equal(unpack(packed), a)
    with pytest.raises(TypeError, match="float32 or uint8"):
        binary_array(np.zeros(2, np.float64))


def test_binary_array_of_a_non_contiguous_view():
    a = np.arange(12, dtype=np.float32).reshape(3, 4).T
    np.testing.assert_array_equal(unpack(binary_array(a)), a)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float32, st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6)),
              elements=st.floats(-1e3, 1e3, width=32)))
def test_channel_sum_keeps_the_total(values):
    """Summing over channels preserves Σ attributions, so completeness reads the same on the heatmap."""
    heat = channel_sum(torch.from_numpy(values)[None])
    assert heat.shape == values.shape[1:] and heat.dtype == np.float32
    np.testing.assert_allclose(heat.sum(dtype=np.float64), values.sum(dtype=np.float64), rtol=1e-5, atol=1e-2)


def test_channel_sum_rejects_batches():
    with pytest.raises(ValueError, match="one example"):
        channel_sum(torch.zeros(2, 1, 3, 3))


@pytest.mark.parametrize("channels", [1, 2, 3, 4, 5])
def test_display_rgba_spans_the_byte_range(channels):
    x = torch.linspace(-3, 5, channels * 4 * 5).reshape(1, channels, 4, 5)
    rgba = display_rgba(x)
    assert rgba.shape == (4, 5, 4) and rgba.dtype == np.uint8
    assert (rgba[..., 3] == 255).all()
    assert rgba[..., :3].min() == 0 and rgba[..., :3].max() == 255
    if channels != 3 and channels != 4:
        assert (rgba[..., 0] == rgba[..., 1]).all() and (rgba[..., 1] == rgba[..., 2]).all()


def test_display_rgba_of_a_constant_image_is_black():
    assert display_rgba(torch.full((1, 3, 2, 2), 7.0))[..., :3].max() == 0
