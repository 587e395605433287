"""ModelConfig validation (staff: the config is given code in the starter, so it earns no points)."""

import pytest

from cs336_basics.training.config import ModelConfig, default_d_ff

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


@pytest.mark.parametrize(
    ("overrides", "d_ff", "head_dim"),
    [
        # the handout's SiLU ablation: "d_ff = 4 * d_model" -> 4 * 256 (the swiglu preset's 704 must not stay)
        (["ffn=silu"], 4 * 256, 32),
        # 8/3 * 512 = 1365.3 -> 1344; 512 / 16 heads = 32
        (["d_model=512", "num_heads=16"], 1344, 32),
        (["d_model=512", "d_ff=2048"], 2048, 64),
        (["num_heads=4"], 704, 64),
    ],
)
def test_train_and_accounting_build_the_same_model_config(overrides, d_ff, head_dim):
    from cs336_basics.training.commands.cost_table import model_config
    from cs336_basics.training.config import build_config

    model = {}
    for item in overrides:
        name, value = item.split("=")
        model[name] = value if name == "ffn" else int(value)
    trained = build_config("shakespeare", {"model": model}).model
    accounted = model_config("shakespeare", overrides)
    assert trained == accounted, f"cs336 train and cs336 accounting disagree: {trained} vs {accounted}"
    assert (trained.d_ff, trained.head_dim) == (d_ff, head_dim)


def test_config_errors_name_the_class_and_field():
    from cs336_basics.training.config import OptimConfig, TrainConfig, build_config

    with pytest.raises(ValueError, match=r"^ModelConfig\.eps: must be positive"):
        ModelConfig(vocab_size=32, context_length=8, d_model=16, num_layers=1, num_heads=2, eps=0.0)
    with pytest.raises(ValueError, match=r"^OptimConfig\.lr: must be positive"):
        OptimConfig(lr=0.0)
    with pytest.raises(ValueError, match=r"^ModelConfig: unknown field\(s\) \['d_modle'\]"):
        ModelConfig.from_dict({"d_modle": 1})
    with pytest.raises(ValueError, match=r"^TrainConfig.optim: unknown field\(s\) \['lrr'\]"):
        TrainConfig.from_dict({**build_config("debug").to_dict(), "optim": {"lrr": 1.0}})
