"""A from-scratch CS336 assignment-1 solution in flat modules (a staff fixture: the grader's second opinion).

bpe.py             train_bpe (bytes first, then specials, then merges; incremental pair counts, heap)
tok.py             BPETokenizer: encode / decode / encode_iterable / save / from_files / encode_file
layers.py          softmax, silu, Lin, Embed, RMS, GatedFFN, PlainFFN, SinusoidalPE, LearnedPE, Rotary
model.py           attention, CausalSelfAttention, Block, DecoderLM, KVStore
optimizer.py       DecoupledAdam (torch.optim.AdamW's algorithm), cosine_lr, clip_grad_norm
training_utils.py  cross_entropy, sample_batch, save_checkpoint, load_checkpoint
"""
