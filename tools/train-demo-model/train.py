#!/usr/bin/python3
"""Trains falip's demo CLIP (the `tiny` architecture, CLIP's BPE vocabulary) on the demo's shape world.

Maintainer tool, run by hand (README.md): users and CI never run it. Reads the work folder that
prepare.ts wrote, trains contrastively, exports a Hugging Face CLIP folder every --eval-every steps,
scores each with falip itself on the dev sets (FALIP against plain), logs the accuracies, and writes
the best checkpoint to --out with a training.json that records the recipe, the data and the log.
"""
import argparse
import csv
import hashlib
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))

# CLIP's normalization (falip src/image/preprocess.ts).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


# ----- the model, with Hugging Face CLIPModel's module names so state_dict keys are falip's tensor names -----

class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x, mask=None):
        b, t, d = x.shape
        h = self.heads
        split = lambda y: y.view(b, t, h, d // h).transpose(1, 2)
        q = split(self.q_proj(x)) * (d // h) ** -0.5
        logits = q @ split(self.k_proj(x)).transpose(-1, -2)
        if mask is not None:
            logits = logits + mask
        out = logits.softmax(-1) @ split(self.v_proj(x))
        return self.out_proj(out.transpose(1, 2).reshape(b, t, d))


class Mlp(nn.Module):
    def __init__(self, d, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, hidden), nn.Linear(hidden, d)

    def forward(self, x):
        return self.fc2(quick_gelu(self.fc1(x)))


class Layer(nn.Module):
    def __init__(self, d, hidden, heads):
        super().__init__()
        self.self_attn = Attention(d, heads)
        self.layer_norm1 = nn.LayerNorm(d, eps=1e-5)
        self.mlp = Mlp(d, hidden)
        self.layer_norm2 = nn.LayerNorm(d, eps=1e-5)

    def forward(self, x, mask=None):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList(
            Layer(cfg['hidden_size'], cfg['intermediate_size'], cfg['num_attention_heads']) for _ in range(cfg['num_hidden_layers']))

    def forward(self, x, mask=None):
        for layer in self.layers:
            x = layer(x, mask)
        return x


class VisionEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, p = cfg['hidden_size'], cfg['patch_size']
        self.class_embedding = nn.Parameter(torch.zeros(d))
        self.patch_embedding = nn.Conv2d(3, d, p, p, bias=False)
        self.position_embedding = nn.Embedding((cfg['image_size'] // p) ** 2 + 1, d)

    def forward(self, pixels):
        patches = self.patch_embedding(pixels).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(patches.shape[0], 1, -1)
        return torch.cat([cls, patches], 1) + self.position_embedding.weight


class VisionModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = VisionEmbeddings(cfg)
        self.pre_layrnorm = nn.LayerNorm(cfg['hidden_size'], eps=1e-5)
        self.encoder = Encoder(cfg)
        self.post_layernorm = nn.LayerNorm(cfg['hidden_size'], eps=1e-5)

    def forward(self, pixels):
        x = self.encoder(self.pre_layrnorm(self.embeddings(pixels)))
        return self.post_layernorm(x[:, 0])


class TextEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.token_embedding = nn.Embedding(cfg['vocab_size'], cfg['hidden_size'])
        self.position_embedding = nn.Embedding(cfg['max_position_embeddings'], cfg['hidden_size'])


class TextModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embeddings = TextEmbeddings(cfg)
        self.encoder = Encoder(cfg)
        self.final_layer_norm = nn.LayerNorm(cfg['hidden_size'], eps=1e-5)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.embeddings.token_embedding(ids) + self.embeddings.position_embedding.weight[:t]
        causal = torch.full((t, t), float('-inf')).triu(1)
        x = self.final_layer_norm(self.encoder(x, causal))
        # EOT has the largest id: its position is the argmax, as in CLIP and falip's text graph.
        return x[torch.arange(ids.shape[0]), ids.argmax(-1)]


class Clip(nn.Module):
    def __init__(self, config):
        super().__init__()
        v, t, p = config['vision_config'], config['text_config'], config['projection_dim']
        self.vision_model = VisionModel(v)
        self.text_model = TextModel(t)
        self.visual_projection = nn.Linear(v['hidden_size'], p, bias=False)
        self.text_projection = nn.Linear(t['hidden_size'], p, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(config['logit_scale_init_value']))
        self._init(v, t)

    def _init(self, v, t):
        """OpenAI CLIP's initialization (std by width and depth), as transformers' CLIPPreTrainedModel."""
        for tower, cfg in ((self.vision_model, v), (self.text_model, t)):
            d, layers = cfg['hidden_size'], cfg['num_hidden_layers']
            for layer in tower.encoder.layers:
                for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                    nn.init.normal_(proj.weight, std=d ** -0.5 * (2 * layers) ** -0.5)
                nn.init.normal_(layer.self_attn.out_proj.weight, std=d ** -0.5 * (2 * layers) ** -0.5)
                nn.init.normal_(layer.mlp.fc1.weight, std=(2 * d) ** -0.5)
                nn.init.normal_(layer.mlp.fc2.weight, std=d ** -0.5 * (2 * layers) ** -0.5)
                for lin in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj, layer.self_attn.out_proj, layer.mlp.fc1, layer.mlp.fc2):
                    nn.init.zeros_(lin.bias)
        emb = self.vision_model.embeddings
        nn.init.normal_(emb.class_embedding, std=v['hidden_size'] ** -0.5)
        nn.init.normal_(emb.patch_embedding.weight, std=0.02)
        nn.init.normal_(emb.position_embedding.weight, std=0.02)
        nn.init.normal_(self.text_model.embeddings.token_embedding.weight, std=0.02)
        nn.init.normal_(self.text_model.embeddings.position_embedding.weight, std=0.01)
        nn.init.normal_(self.visual_projection.weight, std=v['hidden_size'] ** -0.5)
        nn.init.normal_(self.text_projection.weight, std=t['hidden_size'] ** -0.5)

    def encode_image(self, pixels):
        return F.normalize(self.visual_projection(self.vision_model(pixels)), dim=-1)

    def encode_text(self, ids):
        return F.normalize(self.text_projection(self.text_model(ids)), dim=-1)


# ----- data -----

class World:
    """The prepared pictures and captions, and the seeded sampler of training batches."""

    def __init__(self, work, rng):
        train = os.path.join(work, 'train')
        self.scenes = [json.loads(line) for line in open(os.path.join(train, 'scenes.jsonl'))]
        self.captions = json.load(open(os.path.join(train, 'captions.json')))
        size = json.load(open(os.path.join(work, 'data.json')))['imageSize']
        self.pixels = np.memmap(os.path.join(train, 'pixels.u8'), dtype=np.uint8, mode='r').reshape(len(self.scenes), size, size, 3)
        self.mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
        self.rng = rng
        self.order = np.empty(0, dtype=np.int64)

    def used_token_ids(self):
        return sorted({i for c in self.captions.values() for i in c['ids']})

    def next_images(self, n):
        """Pictures in a fresh random order each pass, so every picture is seen once per epoch."""
        if len(self.order) < n:
            self.order = np.concatenate([self.order, self.rng.permutation(len(self.scenes))])
        picked, self.order = self.order[:n], self.order[n:]
        return picked

    def batch(self, n, cls_share):
        picked = self.next_images(n)
        texts = []
        for i in picked:
            scene = self.scenes[i]
            j = self.rng.integers(len(scene['shapes']))
            options = [self.captions[c] for c in scene['captions'][j]]
            kind = 'cls' if self.rng.random() < cls_share else 'rec'
            of_kind = [c for c in options if c['kind'] == kind]
            texts.append(of_kind[self.rng.integers(len(of_kind))])
        # Soft contrastive targets: a picture matches every caption of the batch one of its shapes fits,
        # not only its own (with 18 classes, "the red circle" of another picture is often true of it too).
        matches = np.array([[any(fits(c, s) for s in self.scenes[i]['shapes']) for c in texts] for i in picked], dtype=np.float32)
        pixels = torch.from_numpy(np.ascontiguousarray(self.pixels[picked]))
        pixels = (pixels.permute(0, 3, 1, 2).float() / 255 - self.mean) / self.std
        width = max(len(c['ids']) for c in texts)
        ids = torch.zeros(len(texts), width, dtype=torch.long)
        for k, c in enumerate(texts):
            ids[k, :len(c['ids'])] = torch.tensor(c['ids'])
        return pixels, ids, torch.from_numpy(matches)


def fits(caption, shape):
    return (caption['shape'] == shape['shape'] and caption['colour'] in (None, shape['colour'])
            and caption['where'] in (None, shape['where']))


def soft_clip_loss(img, txt, scale, matches):
    """CLIP's symmetric cross-entropy, with every true (picture, caption) pair of the batch a target."""
    logits = scale * img @ txt.t()
    to_text = matches / matches.sum(1, keepdim=True)
    to_image = matches / matches.sum(0, keepdim=True)
    return 0.5 * (-(to_text * logits.log_softmax(1)).sum(1).mean() - (to_image * logits.log_softmax(0)).sum(0).mean())


# ----- export: a Hugging Face CLIP folder falip reads unchanged -----

def write_safetensors(path, tensors, dtype):
    """safetensors by hand: u64 LE header length, JSON header (sorted names, padded to 8 bytes), raw LE data."""
    np_dtype, name = {'F32': (np.float32, 'F32'), 'F16': (np.float16, 'F16')}[dtype]
    header, blobs, offset = {'__metadata__': {'format': 'pt'}}, [], 0
    for key in sorted(tensors):
        data = tensors[key].detach().cpu().numpy().astype(np.dtype(np_dtype).newbyteorder('<')).tobytes()
        header[key] = {'dtype': name, 'shape': list(tensors[key].shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors_header(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        return json.loads(f.read(n))


def export(model, template, out, dtype='F32'):
    """config.json, vocab.json, merges.txt as falip wrote them for `tiny`; weights under the same names and shapes."""
    os.makedirs(out, exist_ok=True)
    for f in ('config.json', 'vocab.json', 'merges.txt'):
        shutil.copyfile(os.path.join(template, f), os.path.join(out, f))
    tensors = dict(model.state_dict())
    expected = {k: v['shape'] for k, v in read_safetensors_header(os.path.join(template, 'model.safetensors')).items() if k != '__metadata__'}
    got = {k: list(v.shape) for k, v in tensors.items()}
    if got != expected:
        differ = sorted(k for k in set(got) | set(expected) if got.get(k) != expected.get(k))
        raise SystemExit(f"export: tensors differ from falip's tiny layout: {differ[:5]}")
    write_safetensors(os.path.join(out, 'model.safetensors'), tensors, dtype)


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


# ----- the dev check: falip itself, on the dev sets -----

DEV_RUNS = (
    ('demo', 'gold', 'plain,falip,crop,blur,redcircle'),
    ('demo', 'prop', 'plain,falip'),
    ('demo-cls', None, 'plain,falip'),
)


def falip_eval(model_dir, work, dataset, setting, methods):
    scratch = os.path.join(work, 'falip-scratch')
    env = dict(os.environ, FALIP_DATASETS=os.path.join(work, 'dev'), FALIP_MODELS=os.path.join(scratch, 'models'),
               FALIP_RESULTS=os.path.join(scratch, 'results'))
    cmd = ['node', os.path.join(REPO, 'bin', 'falip.js'), 'eval', dataset, '--model', model_dir, '--method', methods, '--json']
    if setting:
        cmd += ['--setting', setting]
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f'falip eval failed ({done.returncode}): {done.stderr.strip()[-2000:]}')
    rows = json.loads(done.stdout)['rows']
    suffix = f' {setting}' if setting else ''
    return {f"{dataset}{suffix} {row['label'].split(' ')[0]}": row['cells'][0]['ours']['value'] for row in rows}


def dev_check(model_dir, work):
    acc = {}
    for dataset, setting, methods in DEV_RUNS:
        acc.update(falip_eval(model_dir, work, dataset, setting, methods))
    shutil.rmtree(os.path.join(work, 'falip-scratch'), ignore_errors=True)
    # What the checkpoint is chosen by: FALIP's gain over plain on both demo tasks, REC with gold and
    # with proposal boxes, classification with a box.
    acc['score'] = sum(acc[f'{task} falip'] - acc[f'{task} plain'] for task in ('demo gold', 'demo prop', 'demo-cls'))
    return acc


# ----- training -----

def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * (args.final_lr_ratio + (1 - args.final_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--work', required=True, help='the folder prepare.ts wrote')
    p.add_argument('--out', required=True, help='where the chosen checkpoint goes (a Hugging Face CLIP folder)')
    p.add_argument('--steps', type=int, default=300)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--final-lr-ratio', type=float, default=0.1, help='cosine decay ends at lr × this')
    p.add_argument('--warmup', type=int, default=25)
    p.add_argument('--weight-decay', type=float, default=0.1)
    p.add_argument('--cls-share', type=float, default=0.2, help="share of captions in demo-cls's template")
    p.add_argument('--eval-every', type=int, default=50)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int, default=1,
                   help='torch threads; on two shared cores one thread trains faster than two (no waiting at barriers)')
    p.add_argument('--dtype', choices=('F16', 'F32'), default='F16', help='storage of the shipped weights')
    args = p.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    work = os.path.abspath(args.work)
    template = os.path.join(work, 'template')
    config = json.load(open(os.path.join(template, 'config.json')))
    world = World(work, rng)
    model = Clip(config)
    # Token rows no caption uses never get a gradient: zero them once so the shipped table is the trained one
    # (and compresses to nothing); with weight decay off for the table, they stay zero.
    used = torch.tensor(world.used_token_ids())
    with torch.no_grad():
        keep = torch.zeros(config['text_config']['vocab_size'], dtype=torch.bool)
        keep[used] = True
        model.text_model.embeddings.token_embedding.weight[~keep] = 0
    decay = [p_ for n, p_ in model.named_parameters() if p_.ndim >= 2 and 'embedding' not in n]
    rest = [p_ for n, p_ in model.named_parameters() if not (p_.ndim >= 2 and 'embedding' not in n)]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': args.weight_decay}, {'params': rest, 'weight_decay': 0.0}],
                            lr=args.lr, betas=(0.9, 0.98), eps=1e-6)

    ckpts = os.path.join(work, 'checkpoints')
    shutil.rmtree(ckpts, ignore_errors=True)
    log_rows, started, train_seconds = [], time.time(), 0.0
    log_csv = os.path.join(work, 'training-log.csv')
    losses = []

    def evaluate(step, loss):
        d = os.path.join(ckpts, f'step-{step:04d}')
        export(model, template, d, 'F32')
        t0 = time.time()
        acc = dev_check(d, work)
        row = {'step': step, 'train_s': round(train_seconds, 1), 'loss': None if loss is None else round(loss, 4), 'logit_scale': round(model.logit_scale.exp().item(), 2),
               **{k: round(v, 2) for k, v in acc.items()}, 'eval_s': round(time.time() - t0, 1)}
        log_rows.append(row)
        with open(log_csv, 'w', newline='') as f:
            w = csv.DictWriter(f, fieldnames=list(row))
            w.writeheader()
            w.writerows(log_rows)
        print(json.dumps(row), flush=True)

    evaluate(0, None)
    for step in range(1, args.steps + 1):
        t0 = time.time()
        for g in opt.param_groups:
            g['lr'] = lr_at(step - 1, args)
        pixels, ids, matches = world.batch(args.batch, args.cls_share)
        # Half-batches through the vision tower: the same sums, but each attention tensor stays under
        # glibc's mmap threshold (see below), which on this machine costs a page-fault storm per tensor.
        images = torch.cat([model.encode_image(chunk) for chunk in pixels.split(32)])
        loss = soft_clip_loss(images, model.encode_text(ids), model.logit_scale.exp(), matches)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        train_seconds += time.time() - t0
        losses.append(loss.item())
        if step % 10 == 0:
            print(f'step {step} loss {np.mean(losses[-10:]):.4f} ({train_seconds:.0f} s)', file=sys.stderr, flush=True)
        if step % args.eval_every == 0 or step == args.steps:
            evaluate(step, float(np.mean(losses[-10:])))

    best = max(log_rows[1:], key=lambda r: (r['score'], -r['step']))
    model.load_state_dict(load_f32(os.path.join(ckpts, f"step-{best['step']:04d}", 'model.safetensors')))
    shutil.rmtree(args.out, ignore_errors=True)
    export(model, template, args.out, args.dtype)
    data = json.load(open(os.path.join(work, 'data.json')))
    shutil.copyfile(os.path.join(work, 'train', 'images.txt'), os.path.join(args.out, 'training-images.txt'))
    record = {
        'model_sha256': sha256_of(os.path.join(args.out, 'model.safetensors')),
        'chosen_step': best['step'],
        'chosen_by': 'highest dev score: (falip - plain) summed over demo gold, demo prop and demo-cls; ties to the earlier step',
        'recipe': {k: v for k, v in vars(args).items() if k not in ('work', 'out')},
        'data': {**data, 'images_file': 'training-images.txt', 'images_sha256': sha256_of(os.path.join(args.out, 'training-images.txt'))},
        'wall_s': round(time.time() - started, 1),
        'train_s': round(train_seconds, 1),
        'torch': torch.__version__,
        'log': log_rows,
    }
    with open(os.path.join(args.out, 'training.json'), 'w') as f:
        json.dump(record, f, indent=1, allow_nan=False)
        f.write('\n')
    print(f"chose step {best['step']} (dev score {best['score']}); wrote {args.out} in {record['wall_s']} s", file=sys.stderr)


def load_f32(path):
    header = read_safetensors_header(path)
    n = struct.unpack('<Q', open(path, 'rb').read(8))[0]
    raw = open(path, 'rb').read()[8 + n:]
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        a, b = v['data_offsets']
        out[k] = torch.from_numpy(np.frombuffer(raw[a:b], dtype='<f4').copy()).view(*v['shape']) if v['shape'] else torch.tensor(np.frombuffer(raw[a:b], dtype='<f4')[0])
    return out


# glibc gives freed tensors of a few MB back to the kernel and faults them in again at the next
# allocation unless told to keep its heap: on this machine a 4 MB elementwise op took 23 ms instead of 1. The tunables are
# read at process start, so the script restarts itself with them (and with its thread count for BLAS).
MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=68719476736:glibc.malloc.top_pad=268435456'

if __name__ == '__main__':
    if os.environ.get('GLIBC_TUNABLES') != MALLOC_TUNABLES:
        threads = next((sys.argv[i + 1] for i, a in enumerate(sys.argv[:-1]) if a == '--threads'), '1')
        env = dict(os.environ, GLIBC_TUNABLES=MALLOC_TUNABLES, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads)
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    main()
