"""bert_mask/: a tiny BERT-style encoder (2 layers, hidden 32, 2 heads, seq 24, batch 2)
that takes input_ids AND an attention_mask, with HuggingFace's extended mask
(1 - attention_mask[:, None, None, :]) * finfo(float32).min added to the scaled scores
before the Softmax. Exported with torch (opset 14, static shapes); test_data_set_0 holds
the inputs (batch 1 padded after 15 tokens) and torch's outputs.
attention_mask_block/: the attention alone on float inputs q, k, v [B, S, H, D] and a
float mask [B, 1, Sq, Sk] (padding plus a causal triangle, finfo.min), so that every node
of it lowers (EMBER_JIT=1 compiles the whole program; the encoder's Gather does not).
attention_where_block/: nanoGPT's spelling, the scores' masked_fill(causal == 0, -inf)
(a Where) instead of an added mask, with the [B, S, H, D] heads as inputs.
Run with /usr/bin/python3 (torch, onnx) from this folder; tests/cli/test_attention_mask.sh
checks Ember on all three."""
import math
import os

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

VOCAB, HIDDEN, HEADS, INTER, LAYERS, SEQ, BATCH = 50, 32, 2, 64, 2, 24, 2


class SelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.d = HIDDEN // HEADS
        self.q, self.k, self.v, self.o = (nn.Linear(HIDDEN, HIDDEN) for _ in range(4))

    def split(self, x):
        b, s, _ = x.shape
        return x.view(b, s, HEADS, self.d).transpose(1, 2)

    def forward(self, x, ext_mask):
        b, s, hd = x.shape
        q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d)
        att = att + ext_mask
        att = torch.softmax(att, dim=-1)
        return self.o(torch.matmul(att, v).transpose(1, 2).reshape(b, s, hd))


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = SelfAttention()
        self.ln1 = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.ff1, self.ff2 = nn.Linear(HIDDEN, INTER), nn.Linear(INTER, HIDDEN)
        self.ln2 = nn.LayerNorm(HIDDEN, eps=1e-12)

    def forward(self, x, ext_mask):
        x = self.ln1(x + self.attn(x, ext_mask))
        return self.ln2(x + self.ff2(nn.functional.gelu(self.ff1(x))))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.word = nn.Embedding(VOCAB, HIDDEN)
        self.pos = nn.Embedding(SEQ, HIDDEN)
        self.ln = nn.LayerNorm(HIDDEN, eps=1e-12)
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))

    def forward(self, input_ids, attention_mask):
        ext = attention_mask[:, None, None, :].to(torch.float32)
        ext = (1.0 - ext) * torch.finfo(torch.float32).min
        x = self.ln(self.word(input_ids) + self.pos.weight[None, : input_ids.shape[1]])
        for layer in self.layers:
            x = layer(x, ext)
        return x


def save_case(folder, model, names, inputs, out_name):
    with torch.no_grad():
        out = model(*inputs)
        torch.onnx.export(model, tuple(inputs), f"{folder}/model.onnx", opset_version=14,
                          input_names=names, output_names=[out_name])
    onnx.checker.check_model(onnx.load(f"{folder}/model.onnx"))
    os.makedirs(f"{folder}/test_data_set_0", exist_ok=True)
    for i, (name, arr) in enumerate(zip(names, inputs)):
        with open(f"{folder}/test_data_set_0/input_{i}.pb", "wb") as f:
            f.write(numpy_helper.from_array(arr.numpy(), name).SerializeToString())
    with open(f"{folder}/test_data_set_0/output_0.pb", "wb") as f:
        f.write(numpy_helper.from_array(out.numpy(), out_name).SerializeToString())


class Block(nn.Module):
    """Scaled dot-product attention over [B, S, H, D] heads with an additive mask."""

    def forward(self, q, k, v, mask):
        s = torch.matmul(q.transpose(1, 2), k.permute(0, 2, 3, 1)) / math.sqrt(q.shape[-1])
        p = torch.softmax(s + mask, dim=-1)
        return torch.matmul(p, v.transpose(1, 2)).transpose(1, 2)


class WhereBlock(nn.Module):
    """Causal attention as nanoGPT writes it: masked_fill of the scaled scores."""

    def __init__(self, s):
        super().__init__()
        self.register_buffer("bias", torch.tril(torch.ones(s, s)).view(1, 1, s, s))

    def forward(self, q, k, v):
        t = q.shape[1]
        att = torch.matmul(q.transpose(1, 2), k.transpose(1, 2).transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
        att = att.masked_fill(self.bias[:, :, :t, :t] == 0, float("-inf"))
        return torch.matmul(torch.softmax(att, dim=-1), v.transpose(1, 2)).transpose(1, 2)


torch.manual_seed(0)
model = Encoder().eval()
with torch.no_grad():  # LayerNorm's default ones and zeros would hide a swapped parameter
    for m in model.modules():
        if isinstance(m, nn.LayerNorm):
            m.weight.copy_(1.0 + 0.1 * torch.randn(HIDDEN))
            m.bias.copy_(0.1 * torch.randn(HIDDEN))
rs = np.random.RandomState(0)
ids = torch.from_numpy(rs.randint(0, VOCAB, size=(BATCH, SEQ)).astype(np.int64))
mask = torch.ones(BATCH, SEQ, dtype=torch.int64)
mask[1, 15:] = 0
os.makedirs("bert_mask", exist_ok=True)
save_case("bert_mask", model, ["input_ids", "attention_mask"], [ids, mask], "last_hidden_state")

B, S, H, D = 2, 20, 2, 8
q, k, v = (torch.from_numpy(rs.standard_normal((B, S, H, D)).astype(np.float32)) for _ in range(3))
keep = torch.ones(B, 1, S, S)
keep[1, :, :, 13:] = 0
keep = keep * torch.tril(torch.ones(S, S))
block_mask = (1.0 - keep) * torch.finfo(torch.float32).min
os.makedirs("attention_mask_block", exist_ok=True)
save_case("attention_mask_block", Block().eval(), ["q", "k", "v", "mask"], [q, k, v, block_mask], "y")

q, k, v = (torch.from_numpy(rs.standard_normal((B, S, H, D)).astype(np.float32)) for _ in range(3))
os.makedirs("attention_where_block", exist_ok=True)
save_case("attention_where_block", WhereBlock(S).eval(), ["q", "k", "v"], [q, k, v], "y")
