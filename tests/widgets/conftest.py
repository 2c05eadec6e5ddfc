import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "browser"))

from digits_model import digits_cnn, digits_data  # noqa: E402
from widget_test_models import SmoothCNN  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    """(test images [N, 1, 8, 8], labels) from scikit-learn's bundled digits."""
    _, _, x_test, y_test = digits_data()
    return x_test, y_test


@pytest.fixture
def cnn():
    """The digits CNN architecture with fixed random weights (training is not needed for widget tests)."""
    torch.manual_seed(0)
    return digits_cnn().eval()


@pytest.fixture
def smooth_cnn():
    torch.manual_seed(0)
    return SmoothCNN().eval()


@pytest.fixture
def digit(digits):
    return digits[0][3]  # [1, 8, 8]


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """The test models are tiny: on a small shared machine, extra torch threads only spin and slow them."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
