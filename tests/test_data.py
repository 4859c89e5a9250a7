import shutil

import pytest
import torch

from actbench import data

# Label counts published with the dataset (shared/README.md lists the same).
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("split, counts", [("train", TRAIN_COUNTS), ("test", TEST_COUNTS)])
def test_mnist_loads_and_verifies(split, counts):
    x, y = data.load_mnist(split)
    assert x.shape == (sum(counts), 784) and x.dtype == torch.float32
    assert torch.bincount(y).tolist() == counts
    assert x.min().item() == -1.0 and x.max().item() == 1.0


def test_unit_scaling():
    x, _ = data.load_mnist("test", scale="unit")
    assert x.min().item() == 0.0 and x.max().item() == 1.0


@pytest.fixture
def mnist_copy(tmp_path):
    shutil.copytree(data.MNIST_DIR, tmp_path / "mnist")
    return tmp_path / "mnist"


def test_altered_file_is_detected_with_restore_hint(mnist_copy):
    target = mnist_copy / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(target.read_bytes())
    raw[100] ^= 0xFF
    target.write_bytes(bytes(raw))
    with pytest.raises(data.DataError, match="fails its checksum.*git checkout -- resources/mnist/"):
        data.load_mnist("test", directory=mnist_copy)


def test_missing_file_is_detected_with_restore_hint(mnist_copy):
    (mnist_copy / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match="is missing.*git checkout"):
        data.load_mnist("test", directory=mnist_copy)


def test_bad_split_names_allowed_values():
    with pytest.raises(ValueError, match="'valid'.*'train' or 'test'"):
        data.load_mnist("valid")


@pytest.mark.parametrize("name", data.SYNTHETIC)
def test_synthetic_sets_are_seeded(name):
    x1, y1 = data.synthetic(name, n=300, seed=3)
    x2, y2 = data.synthetic(name, n=300, seed=3)
    x3, _ = data.synthetic(name, n=300, seed=4)
    assert torch.equal(x1, x2) and torch.equal(y1, y2) and not torch.equal(x1, x3)
    assert x1.shape == (300, 2)
    assert len(torch.unique(y1)) == (3 if name == "spirals" else 2)


def test_synthetic_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown synthetic dataset 'moons'"):
        data.synthetic("moons")
    with pytest.raises(ValueError, match="positive"):
        data.synthetic("xor", n=0)
