"""ModelConfig validation (staff: the config is given code in the starter, so it earns no points)."""

import pytest

from cs336_basics.config import ModelConfig, default_d_ff

pytestmark = pytest.mark.staff


def test_model_config_names_the_bad_field():
    with pytest.raises(ValueError, match="position"):
        ModelConfig(vocab_size=32, context_length=8, d_model=16, num_layers=1, num_heads=2, position="alibi")
    with pytest.raises(ValueError, match="num_heads"):
        ModelConfig(vocab_size=32, context_length=8, d_model=16, num_layers=1, num_heads=3)
    with pytest.raises(ValueError, match="head_dim"):
        ModelConfig(vocab_size=32, context_length=8, d_model=16, num_layers=1, num_heads=1, head_dim=5)
    with pytest.raises(ValueError, match="vocab_size"):
        ModelConfig(vocab_size=0, context_length=8, d_model=16, num_layers=1, num_heads=2)


def test_default_d_ff_is_eight_thirds_rounded_to_64():
    # 8/3 * 512 = 1365.3 -> nearest multiple of 64 is 1344 (the CS336 17M model's d_ff)
    assert default_d_ff(512) == 1344
    assert default_d_ff(768) == 2048
