"""Image augmentation: shifts, rotations, scaling, stroke thickness, built from the document's dict."""

import numpy as np
import pytest

from engine.data.augment import Augment, build_augment
from engine.errors import ConfigError, DataError


def blobs(n=6, size=16, seed=0):
    """Small images with a bright off-centre square on black, (n, 1, size, size) float32."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, 1, size, size), np.float32)
    for k in range(n):
        r, c = rng.integers(4, size - 7, size=2)
        x[k, 0, r:r + 3, c:c + 4] = 1.0
    return x


def centre_of_mass(img):
    ii, jj = np.indices(img.shape)
    m = img.sum()
    return (ii * img).sum() / m, (jj * img).sum() / m


def test_build_from_document_dict():
    assert build_augment(None) is None
    assert build_augment({}) is None
    assert build_augment({"shift": 0}) is None
    aug = build_augment({"shift": 2, "rotate": 10, "scale": 0.1, "thickness": 0.3})
    assert isinstance(aug, Augment)
    assert aug.get_config() == {"shift": 2, "rotate": 10.0, "scale": 0.1, "thickness": 0.3}
    fn = lambda x, rng: x  # noqa: E731
    assert build_augment(fn) is fn


@pytest.mark.parametrize("spec,match", [
    ({"shfit": 2}, "unknown augment setting"),
    ({"shift": 1.5}, "whole number"),
    ({"rotate": -5}, "between"),
    ({"scale": "big"}, "must be a number"),
    ({"thickness": 2}, "between"),
    ([1, 2], "augment must be"),
])
def test_bad_settings_are_config_errors(spec, match):
    with pytest.raises(ConfigError, match=match):
        build_augment(spec)


def test_shift_moves_each_image_by_whole_pixels():
    x = blobs()
    aug = Augment(shift=2)
    y = aug(x, np.random.default_rng(1))
    assert y.shape == x.shape and y.dtype == x.dtype
    moved = 0
    for k in range(len(x)):
        # the result is exactly the input shifted by some (dy, dx) in [-2, 2]^2, zeros coming in
        found = False
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                ref = np.zeros_like(x[k, 0])
                src = x[k, 0]
                ref[max(dy, 0):16 + min(dy, 0), max(dx, 0):16 + min(dx, 0)] = \
                    src[max(-dy, 0):16 + min(-dy, 0), max(-dx, 0):16 + min(-dx, 0)]
                if np.allclose(y[k, 0], ref, atol=1e-6):
                    found = True
                    moved += (dy, dx) != (0, 0)
        assert found, k
    assert moved >= 3  # most images really moved


def test_rotation_keeps_the_centre_and_about_the_ink():
    x = np.zeros((4, 1, 21, 21), np.float32)
    x[:, 0, 10, 4:17] = 1.0  # a horizontal bar through the centre
    y = Augment(rotate=30)(x, np.random.default_rng(2))
    for k in range(4):
        assert y[k, 0, 10, 10] == pytest.approx(1.0, abs=1e-6)  # the centre stays
        assert abs(y[k].sum() - x[k].sum()) / x[k].sum() < 0.25
        cy, cx = centre_of_mass(y[k, 0])
        assert abs(cy - 10) < 0.5 and abs(cx - 10) < 0.5
    assert not np.allclose(y, x)
    # the bar's orientation (from second moments) turned by the drawn angle
    thetas = np.random.default_rng(2).uniform(-30, 30, size=4)
    for k in range(4):
        img = y[k, 0]
        ii, jj = np.indices(img.shape)
        m = img.sum()
        cy, cx = (ii * img).sum() / m, (jj * img).sum() / m
        mu20 = ((jj - cx) ** 2 * img).sum()
        mu02 = ((ii - cy) ** 2 * img).sum()
        mu11 = ((jj - cx) * (ii - cy) * img).sum()
        angle = np.degrees(0.5 * np.arctan2(2 * mu11, mu20 - mu02))
        assert abs(abs(angle) - abs(thetas[k])) < 3, (angle, thetas[k])


def test_scale_grows_or_shrinks_the_ink():
    x = np.zeros((30, 1, 21, 21), np.float32)
    x[:, 0, 7:14, 7:14] = 1.0
    y = Augment(scale=0.3)(x, np.random.default_rng(3))
    areas = y.reshape(30, -1).sum(axis=1)
    assert areas.min() < 49 * 0.85 and areas.max() > 49 * 1.15
    for k in range(30):
        cy, cx = centre_of_mass(y[k, 0])
        assert abs(cy - 10) < 0.3 and abs(cx - 10) < 0.3


def test_thickness_thickens_and_thins_strokes():
    x = np.zeros((40, 1, 12, 12), np.float32)
    x[:, 0, 3:9, 5:7] = 1.0
    y = Augment(thickness=1.0)(x, np.random.default_rng(4))
    ink = y.reshape(40, -1).sum(axis=1)
    assert ink.max() > 12 * 1.5 and ink.min() < 12 * 0.6
    assert y.min() >= 0 and y.max() <= 1.0 + 1e-6


def test_batch_is_vectorised_reproducible_and_flat_images_work():
    x = blobs(8)
    aug = build_augment({"shift": 2, "rotate": 10, "scale": 0.1, "thickness": 0.3})
    a = aug(x, np.random.default_rng(7))
    b = aug(x, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, aug(x, np.random.default_rng(8)))
    flat = x.reshape(8, -1)
    c = aug(flat, np.random.default_rng(7))
    assert c.shape == flat.shape
    np.testing.assert_allclose(c.reshape(a.shape), a, atol=1e-6)
    np.testing.assert_array_equal(x, blobs(8))  # the input is never modified
    with pytest.raises(DataError):
        aug(np.zeros((2, 7), np.float32), np.random.default_rng(0))


def test_trainer_builds_it_from_the_training_settings():
    from engine.training import build_augment as trainer_build

    aug = trainer_build({"shift": 1})
    assert isinstance(aug, Augment) and aug.shift == 1
