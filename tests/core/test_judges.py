import numpy as np

from explorer.core.space.judges import grey32


def test_grey32_averages_channels_and_2x2_blocks():
    img = np.zeros((1, 64, 64, 3), np.uint8)
    img[0, :2, :2] = (255, 0, 0)  # one 2x2 block, red only
    feats = grey32(img)
    assert feats.shape == (1, 1024)
    assert feats[0, 0] == np.float32(255 / 3 / 255)
    assert feats[0, 1:].max() == 0
