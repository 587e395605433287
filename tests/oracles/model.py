"""Staff-only oracles for the Transformer modules: torch built-ins and float64 recomputation.

Nothing here imports cs336_basics. Inputs come from numpy's seeded PCG64 generator (stable across
releases); every expected value is computed in float64 on the CPU and rounded to float32 (float16 for the
float16 case), so a regeneration is byte-identical even if a float64 reduction order changes by an ulp.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

f32 = np.float32


def _normal(rng: np.random.Generator, *shape: int, std: float = 1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * std).astype(f32)


def _linear_weight(rng: np.random.Generator, d_out: int, d_in: int) -> np.ndarray:
    return _normal(rng, d_out, d_in, std=math.sqrt(2.0 / (d_in + d_out)))


def _gain(rng: np.random.Generator, d: int) -> np.ndarray:
    # Gains away from 1 so that an implementation that ignores the gain fails.
    return rng.uniform(0.5, 1.5, size=d).astype(f32)


def _t(a: np.ndarray) -> torch.Tensor:
    """numpy -> float64 torch tensor (ints stay int64)."""
    t = torch.from_numpy(np.asarray(a))
    return t if not t.is_floating_point() else t.double()


def _out(t: torch.Tensor, dtype=f32) -> np.ndarray:
    return t.detach().numpy().astype(dtype)


# ---------------------------------------------------------------- position tables (independent forms)


def rope_complex(x: torch.Tensor, positions: torch.Tensor, theta: float) -> torch.Tensor:
    """RoPE as complex multiplication (Su et al. 2021, eq. 12): pair (x_2k, x_2k+1) is the complex number
    x_2k + i x_2k+1, multiplied by e^{i p θ^{-2k/d}}. float64 in, float64 out."""
    d = x.shape[-1]
    z = torch.view_as_complex(x.reshape(*x.shape[:-1], d // 2, 2).contiguous())
    inverse_frequency = theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    angle = positions.double()[..., None] * inverse_frequency
    rotated = z * torch.polar(torch.ones_like(angle), angle)
    return torch.view_as_real(rotated).reshape(x.shape)


def sinusoidal_loop(max_seq_len: int, d_model: int) -> torch.Tensor:
    """Vaswani et al. (2017, §3.5) one entry at a time with math.sin / math.cos."""
    table = [[0.0] * d_model for _ in range(max_seq_len)]
    for pos in range(max_seq_len):
        for i in range(0, d_model, 2):
            angle = pos / 10000 ** (i / d_model)
            table[pos][i] = math.sin(angle)
            if i + 1 < d_model:
                table[pos][i + 1] = math.cos(angle)
    return torch.tensor(table, dtype=torch.float64)


# ---------------------------------------------------------------- reference Transformer (float64)


def mha_reference(x, wq, wk, wv, wo, num_heads, positions=None, theta=None):
    """Causal multi-head attention from F.linear and F.scaled_dot_product_attention; heads are the
    (head, head_dim)-ordered row blocks of the projections."""
    *lead, seq, _ = x.shape
    head_dim = wq.shape[0] // num_heads

    def heads(w):
        return F.linear(x, w).reshape(*lead, seq, num_heads, head_dim).transpose(-3, -2)

    q, k, v = heads(wq), heads(wk), heads(wv)
    if theta is not None:
        pos = torch.arange(seq) if positions is None else positions.unsqueeze(-2)
        q, k = rope_complex(q, pos, theta), rope_complex(k, pos, theta)
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return F.linear(out.transpose(-3, -2).reshape(*lead, seq, num_heads * head_dim), wo)


def block_reference(x, w, prefix, num_heads, theta, norm="pre", ffn="swiglu", eps=1e-5):
    def attn(h):
        p = prefix + "attn."
        return mha_reference(h, w[p + "q_proj.weight"], w[p + "k_proj.weight"], w[p + "v_proj.weight"],
                             w[p + "output_proj.weight"], num_heads, theta=theta)

    def ff(h):
        p = prefix + "ffn."
        gate = F.silu(F.linear(h, w[p + "w1.weight"]))
        if ffn == "swiglu":
            gate = gate * F.linear(h, w[p + "w3.weight"])
        return F.linear(gate, w[p + "w2.weight"])

    def ln(h, name):
        return F.rms_norm(h, (h.shape[-1],), w[prefix + name + ".weight"], eps)

    if norm == "pre":
        h = x + attn(ln(x, "ln1"))
        return h + ff(ln(h, "ln2"))
    if norm == "post":
        h = ln(x + attn(x), "ln1")
        return ln(h + ff(h), "ln2")
    h = x + attn(x)
    return h + ff(h)


def lm_reference(ids, w, num_layers, num_heads, theta, position="rope", norm="pre", ffn="swiglu", eps=1e-5):
    x = F.embedding(ids, w["token_embeddings.weight"])
    seq = ids.shape[-1]
    if position == "sinusoidal":
        x = x + sinusoidal_loop(seq, x.shape[-1])
    elif position == "learned":
        x = x + F.embedding(torch.arange(seq), w["position_embeddings.weight"])
    for i in range(num_layers):
        x = block_reference(x, w, f"layers.{i}.", num_heads, theta if position == "rope" else None, norm, ffn, eps)
    if norm == "pre":
        x = F.rms_norm(x, (x.shape[-1],), w["ln_final.weight"], eps)
    return F.linear(x, w["lm_head.weight"])


def _block_weights(rng, prefix, d_model, num_heads, d_ff, head_dim=None, norm="pre", ffn="swiglu"):
    inner = num_heads * (head_dim or d_model // num_heads)
    w = {prefix + f"attn.{n}_proj.weight": _linear_weight(rng, inner, d_model) for n in ("q", "k", "v")}
    w[prefix + "attn.output_proj.weight"] = _linear_weight(rng, d_model, inner)
    w[prefix + "ffn.w1.weight"] = _linear_weight(rng, d_ff, d_model)
    w[prefix + "ffn.w2.weight"] = _linear_weight(rng, d_model, d_ff)
    if ffn == "swiglu":
        w[prefix + "ffn.w3.weight"] = _linear_weight(rng, d_ff, d_model)
    if norm != "none":
        w[prefix + "ln1.weight"] = _gain(rng, d_model)
        w[prefix + "ln2.weight"] = _gain(rng, d_model)
    return w


def _lm_weights(rng, vocab, ctx, d_model, num_layers, num_heads, d_ff, position="rope", norm="pre", ffn="swiglu"):
    w = {"token_embeddings.weight": _normal(rng, vocab, d_model)}
    if position == "learned":
        w["position_embeddings.weight"] = _normal(rng, ctx, d_model)
    for i in range(num_layers):
        w.update(_block_weights(rng, f"layers.{i}.", d_model, num_heads, d_ff, norm=norm, ffn=ffn))
    if norm == "pre":
        w["ln_final.weight"] = _gain(rng, d_model)
    w["lm_head.weight"] = _linear_weight(rng, vocab, d_model)
    return w


def _prefixed(prefix: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {prefix + k: v for k, v in arrays.items()}


# ---------------------------------------------------------------- fixture builders


def linear() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(101)
    weight, x = _linear_weight(rng, 40, 24), _normal(rng, 2, 5, 24)
    return {"weight": weight, "in_features": x, "expected": _out(F.linear(_t(x), _t(weight)))}


def embedding() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(102)
    weight = _normal(rng, 50, 8)
    ids = rng.integers(0, 50, size=(3, 7)).astype(np.int64)
    ids[0, 0], ids[0, 1] = 0, 49  # both ends of the table
    return {"weight": weight, "token_ids": ids, "expected": _out(F.embedding(_t(ids), _t(weight)))}


def rmsnorm() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(103)
    d, eps = 16, 1e-5
    weight, x = _gain(rng, d), _normal(rng, 2, 5, d)
    x_small = (x * 1e-3).astype(f32)  # mean square ~1e-6 < eps = 1e-5: eps dominates the denominator
    x_bf16 = torch.from_numpy(_normal(rng, 4, 64, d) * 3).bfloat16().float().numpy()  # exactly bf16 values
    x_fp16 = (_normal(rng, 3, d) * 1000).astype(np.float16)  # squares overflow float16 (max 65504)

    def norm(a):
        return F.rms_norm(_t(a), (d,), _t(weight), eps)

    return {
        "weight": weight, "eps": np.array(eps),
        "in_features": x, "expected": _out(norm(x)),
        "in_features_small": x_small, "expected_small": _out(norm(x_small)),
        "in_features_bf16": x_bf16, "expected_bf16": _out(norm(x_bf16)),
        "in_features_fp16": x_fp16, "expected_fp16": _out(norm(x_fp16)),
    }


def positionwise_feedforward() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(104)
    d_model, d_ff = 16, 48
    x_silu = np.concatenate([_normal(rng, 40) * 4, np.array([-100.0, -20.0, 0.0, 20.0, 100.0], f32)]).astype(f32)
    w1, w2, w3 = _linear_weight(rng, d_ff, d_model), _linear_weight(rng, d_model, d_ff), _linear_weight(rng, d_ff, d_model)
    x = _normal(rng, 2, 5, d_model)
    hidden = F.silu(F.linear(_t(x), _t(w1)))
    return {
        "silu_in": x_silu, "silu_expected": _out(F.silu(_t(x_silu))),
        "w1": w1, "w2": w2, "w3": w3, "in_features": x,
        "swiglu_expected": _out(F.linear(hidden * F.linear(_t(x), _t(w3)), _t(w2))),
        "silu_ffn_expected": _out(F.linear(hidden, _t(w2))),
    }


def softmax() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(105)
    x = _normal(rng, 3, 4, 5) * 3
    # Rows of very different magnitude: only a per-row max keeps every row finite.
    x_offset = (x + rng.choice([-1000.0, 0.0, 1000.0], size=(3, 4, 1))).astype(f32)
    # x + 1000 rounded to float32 (ulp 6e-5 there) is a slightly different input: its own oracle.
    x_plus = (x + f32(1000)).astype(f32)
    out = {"in_features": x, "in_features_row_offsets": x_offset, "in_features_plus_1000": x_plus,
           "expected_row_offsets": _out(torch.softmax(_t(x_offset), dim=-1))}
    for dim in range(3):
        out[f"expected_dim{dim}"] = _out(torch.softmax(_t(x), dim=dim))
        out[f"expected_plus_1000_dim{dim}"] = _out(torch.softmax(_t(x_plus), dim=dim))
    return out


def _sdpa_zeroing_empty_rows(q, k, v, mask):
    """F.scaled_dot_product_attention, with the documented convention that a query whose keys are all
    masked returns zeros (torch returns NaN there)."""
    empty = ~mask.any(dim=-1, keepdim=True)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask | empty)
    return out.masked_fill(empty, 0.0)


def scaled_dot_product_attention() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(106)
    q, k, v = _normal(rng, 2, 4, 8), _normal(rng, 2, 6, 8), _normal(rng, 2, 6, 5)
    mask = rng.random((2, 4, 6)) < 0.6
    mask[0, 2, :] = False  # a query that may attend to nothing
    mask[1, 0, :] = False
    mask[1, 1, :] = True
    q4, k4, v4 = _normal(rng, 2, 3, 4, 8), _normal(rng, 2, 3, 6, 8), _normal(rng, 2, 3, 6, 5)
    mask4 = rng.random((2, 3, 4, 6)) < 0.6
    shared = rng.random((4, 6)) < 0.6
    shared[:, 0] = True
    T = _t
    return {
        "Q": q, "K": k, "V": v, "mask": mask,
        "expected_no_mask": _out(F.scaled_dot_product_attention(T(q), T(k), T(v))),
        "expected_mask": _out(_sdpa_zeroing_empty_rows(T(q), T(k), T(v), T(mask))),
        "Q_4d": q4, "K_4d": k4, "V_4d": v4, "mask_4d": mask4, "mask_shared": shared,
        "expected_4d": _out(_sdpa_zeroing_empty_rows(T(q4), T(k4), T(v4), T(mask4))),
        "expected_4d_shared_mask": _out(_sdpa_zeroing_empty_rows(T(q4), T(k4), T(v4), T(shared))),
    }


def rope() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(107)
    d_k, theta, max_seq_len = 16, 10000.0, 32
    x = _normal(rng, 2, 6, d_k)
    positions = np.stack([np.sort(rng.choice(max_seq_len, 6, replace=False)) for _ in range(2)]).astype(np.int64)
    x4 = _normal(rng, 2, 3, 6, d_k)
    return {
        "d_k": np.array(d_k), "theta": np.array(theta), "max_seq_len": np.array(max_seq_len),
        "in_features": x, "token_positions": positions,
        "expected": _out(rope_complex(_t(x), _t(positions), theta)),
        "expected_arange": _out(rope_complex(_t(x), torch.arange(6), theta)),
        "in_features_4d": x4,
        "expected_4d": _out(rope_complex(_t(x4), _t(positions)[:, None, :], theta)),
    }


def sinusoidal_pe() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(108)
    max_seq_len, seq = 20, 10
    out = {"max_seq_len": np.array(max_seq_len)}
    positions = rng.integers(0, max_seq_len, size=(2, seq)).astype(np.int64)
    out["token_positions"] = positions
    for d in (16, 7):  # even and odd d_model
        table, x = sinusoidal_loop(max_seq_len, d), _normal(rng, 2, seq, d)
        out[f"in_features_d{d}"] = x
        out[f"expected_d{d}"] = _out(_t(x) + table[:seq])
        out[f"expected_positions_d{d}"] = _out(_t(x) + table[_t(positions)])
    return out


def learned_pe() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(109)
    max_seq_len, d, seq = 20, 8, 10
    weight, x = _normal(rng, max_seq_len, d), _normal(rng, 2, seq, d)
    positions = rng.integers(0, max_seq_len, size=(2, seq)).astype(np.int64)
    return {
        "weight": weight, "in_features": x, "token_positions": positions,
        "expected": _out(_t(x) + F.embedding(torch.arange(seq), _t(weight))),
        "expected_positions": _out(_t(x) + F.embedding(_t(positions), _t(weight))),
    }


def multihead_self_attention() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(110)
    d_model, num_heads, seq, theta, max_seq_len = 16, 4, 6, 10000.0, 16
    out = {"d_model": np.array(d_model), "num_heads": np.array(num_heads), "theta": np.array(theta),
           "max_seq_len": np.array(max_seq_len), "in_features": _normal(rng, 2, seq, d_model)}
    out["token_positions"] = np.stack([np.sort(rng.choice(max_seq_len, seq, replace=False)) for _ in range(2)]).astype(np.int64)
    for tag, head_dim in (("", d_model // num_heads), ("wide_", d_model)):
        inner = num_heads * head_dim
        for n in ("q", "k", "v"):
            out[f"{tag}{n}_proj_weight"] = _linear_weight(rng, inner, d_model)
        out[f"{tag}o_proj_weight"] = _linear_weight(rng, d_model, inner)
    w = {k: _t(v) for k, v in out.items()}
    args = [w[n] for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight", "o_proj_weight")]
    wide = [w["wide_" + n] for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight", "o_proj_weight")]
    x = w["in_features"]
    out["expected"] = _out(mha_reference(x, *args, num_heads))
    out["expected_rope"] = _out(mha_reference(x, *args, num_heads, positions=w["token_positions"], theta=theta))
    out["expected_rope_arange"] = _out(mha_reference(x, *args, num_heads, theta=theta))
    out["expected_wide"] = _out(mha_reference(x, *wide, num_heads))
    return out


def transformer_block() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(111)
    d_model, num_heads, d_ff, max_seq_len, theta = 16, 4, 40, 16, 10000.0
    weights = _block_weights(rng, "", d_model, num_heads, d_ff)
    x = _normal(rng, 2, 8, d_model)
    expected = block_reference(_t(x), {k: _t(v) for k, v in weights.items()}, "", num_heads, theta)
    return {"d_model": np.array(d_model), "num_heads": np.array(num_heads), "d_ff": np.array(d_ff),
            "max_seq_len": np.array(max_seq_len), "theta": np.array(theta), "in_features": x,
            "expected": _out(expected), **_prefixed("weights.", weights)}


LM_SHAPE = dict(vocab_size=64, context_length=16, d_model=16, num_layers=2, num_heads=4, d_ff=40, rope_theta=10000.0)


def transformer_lm() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(112)
    s = LM_SHAPE
    weights = _lm_weights(rng, s["vocab_size"], s["context_length"], s["d_model"], s["num_layers"], s["num_heads"], s["d_ff"])
    ids = rng.integers(0, s["vocab_size"], size=(2, s["context_length"])).astype(np.int64)
    logits = lm_reference(_t(ids), {k: _t(v) for k, v in weights.items()}, s["num_layers"], s["num_heads"], s["rope_theta"])
    return {"in_indices": ids, "expected": _out(logits), **_prefixed("weights.", weights),
            **{k: np.array(v) for k, v in s.items()}}


# Ablation variants of the LM (one layer each): (position, norm, ffn) away from the default.
ABLATIONS = {
    "post_norm": ("rope", "post", "swiglu"),
    "no_norm": ("rope", "none", "swiglu"),
    "sinusoidal": ("sinusoidal", "pre", "swiglu"),
    "learned": ("learned", "pre", "swiglu"),
    "nope": ("none", "pre", "swiglu"),
    "silu_ffn": ("rope", "pre", "silu"),
}


def transformer_lm_ablations() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(113)
    s = dict(LM_SHAPE, num_layers=1)
    out = {k: np.array(v) for k, v in s.items()}
    out["in_indices"] = rng.integers(0, s["vocab_size"], size=(2, 12)).astype(np.int64)
    for name, (position, norm, ffn) in ABLATIONS.items():
        weights = _lm_weights(rng, s["vocab_size"], s["context_length"], s["d_model"], 1, s["num_heads"], s["d_ff"],
                              position=position, norm=norm, ffn=ffn)
        logits = lm_reference(_t(out["in_indices"]), {k: _t(v) for k, v in weights.items()}, 1, s["num_heads"],
                              s["rope_theta"], position=position, norm=norm, ffn=ffn)
        out[f"{name}.expected"] = _out(logits)
        out.update(_prefixed(f"{name}.weights.", weights))
    return out


FIXTURES = {
    "linear": linear,
    "embedding": embedding,
    "rmsnorm": rmsnorm,
    "positionwise_feedforward": positionwise_feedforward,
    "softmax": softmax,
    "scaled_dot_product_attention": scaled_dot_product_attention,
    "rope": rope,
    "sinusoidal_pe": sinusoidal_pe,
    "learned_pe": learned_pe,
    "multihead_self_attention": multihead_self_attention,
    "transformer_block": transformer_block,
    "transformer_lm": transformer_lm,
    "transformer_lm_ablations": transformer_lm_ablations,
}
