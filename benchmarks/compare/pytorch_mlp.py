#!/usr/bin/python3
"""The PyTorch half of benchmarks/compare: the same model and loop as NeuralCoreCompare.

Trains 784-H-10, or 784-H1-H2-...-10 for `--hidden H1-H2` (Linear, ReLU after every hidden Linear, Linear; CrossEntropyLoss on logits; Adam lr 1e-3, eps 1e-7) on MNIST on the CPU,
with the data preloaded as float32 in [0, 1], reshuffled every epoch from a seeded generator and batched by index
(the last, partial batch included), no validation. Prints one JSON line: every epoch's seconds (the training loop
only) and the accuracy on the 10k test set.

`--info` prints instead what PyTorch was built with and which BLAS library it loaded.
"""

import argparse
import ctypes
import gzip
import json
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path, magic, dims):
    """Reads an IDX file of unsigned bytes (gzip or raw) and checks its magic number and size."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    (found,) = struct.unpack(">i", data[:4])
    if found != magic:
        sys.exit(f"{path}: expected magic 0x{magic:08X}, found 0x{found:08X}")
    shape = struct.unpack(">" + "i" * dims, data[4:4 + 4 * dims])
    header = 4 + 4 * dims
    count = int(np.prod(shape))
    if len(data) - header != count:
        sys.exit(f"{path}: header says {shape} ({count} bytes) but {len(data) - header} bytes follow")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def load_split(directory, split):
    """[n, 784] float32 pixels value / 255 (NeuralCore divides the same way) and [n] int64 labels."""
    images_name, labels_name = FILES[split]
    images = read_idx(os.path.join(directory, images_name), IMAGES_MAGIC, 3)
    labels = read_idx(os.path.join(directory, labels_name), LABELS_MAGIC, 1)
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        sys.exit(f"{directory}: {split} images {images.shape} do not match labels {labels.shape}")
    x = images.reshape(-1, 784).astype(np.float32) / np.float32(255)
    return torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))


def blas_info():
    """What PyTorch was built with, and the BLAS library actually mapped into this process."""
    a = torch.randn(256, 256)
    (a @ a).sum().item()  # load the BLAS if it is loaded lazily
    libraries = []
    with open("/proc/self/maps", encoding="utf-8") as maps:
        for line in maps:
            path = line.split()[-1]
            if path.startswith("/") and any(k in path for k in ("blas", "lapack", "mkl", "gomp", "omp")):
                if path not in libraries:
                    libraries.append(path)
    info = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "mapped_libraries": libraries,
        "mkl": torch.backends.mkl.is_available(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "openmp": torch.backends.openmp.is_available(),
        "cpu_capability": next((l.split(":", 1)[1].strip() for l in torch.__config__.show().splitlines()
                                if "CPU capability" in l), None),
        "build_blas": next((p.split("=", 1)[1] for p in torch.__config__.show().replace(",", "\n").split()
                            if p.startswith("BLAS_INFO=")), None),
    }
    openblas = next((p for p in libraries if "openblas" in p), None)
    if openblas:
        lib = ctypes.CDLL(openblas)
        lib.openblas_get_config.restype = ctypes.c_char_p
        lib.openblas_get_corename.restype = ctypes.c_char_p
        info["openblas_config"] = lib.openblas_get_config().decode()
        info["openblas_core"] = lib.openblas_get_corename().decode()
        info["openblas_threads"] = lib.openblas_get_num_threads()
    info["torch_threads"] = torch.get_num_threads()
    return info


def glorot_(model, generator):
    """Keras's (and NeuralCore's) initialization: Glorot-uniform weights, zero biases."""
    for layer in model:
        if isinstance(layer, nn.Linear):
            fan_out, fan_in = layer.weight.shape
            limit = (6.0 / (fan_in + fan_out)) ** 0.5
            with torch.no_grad():
                layer.weight.uniform_(-limit, limit, generator=generator)
                layer.bias.zero_()


def widths(text):
    """'512-256' -> [512, 256]; every width a positive integer."""
    try:
        values = [int(part) for part in text.split("-")]
    except ValueError:
        values = []
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"hidden widths must be positive integers separated by '-'; got '{text}'")
    return values


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=widths, default=[128],
                        help="hidden widths separated by '-': 512-256 is 784-512-256-10")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data", default=os.path.join("data", "mnist"))
    parser.add_argument("--init", choices=("glorot", "torch"), default="glorot",
                        help="glorot: Glorot-uniform weights and zero biases, as NeuralCore; torch: nn.Linear's default")
    parser.add_argument("--flush-denormal", action="store_true",
                        help="torch.set_flush_denormal(True); off by default (PyTorch's default)")
    parser.add_argument("--info", action="store_true", help="print the build and BLAS information and exit")
    args = parser.parse_args()
    for name in ("batch", "epochs", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be a positive integer; got {getattr(args, name)}")

    # PyTorch starts with one intra-op thread here; the OpenMP build of OpenBLAS follows omp_set_num_threads.
    torch.set_num_threads(args.threads)
    if args.info:
        print(json.dumps(blas_info()))
        return 0
    if args.flush_denormal and not torch.set_flush_denormal(True):
        sys.exit("torch.set_flush_denormal(True) is not supported on this CPU")

    load_start = time.perf_counter()
    train_x, train_y = load_split(args.data, "train")
    test_x, test_y = load_split(args.data, "test")
    load_seconds = time.perf_counter() - load_start

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    layers = []
    inputs = 784
    for width in args.hidden:
        layers += [nn.Linear(inputs, width), nn.ReLU()]
        inputs = width
    model = nn.Sequential(*layers, nn.Linear(inputs, 10))
    if args.init == "glorot":
        glorot_(model, generator)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    n = train_x.shape[0]
    steps = (n + args.batch - 1) // args.batch
    epoch_seconds = []
    train_loss = float("nan")
    model.train()
    for _ in range(args.epochs):
        start = time.perf_counter()
        order = torch.randperm(n, generator=generator)
        loss_sum = 0.0
        correct = 0
        for step in range(steps):
            index = order[step * args.batch:(step + 1) * args.batch]  # the last batch may be smaller
            xb = train_x[index]  # a gather into a fresh batch, as NeuralCore's Fit copies its batch
            yb = train_y[index]
            logits = model(xb)
            loss = loss_fn(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            # The same per-step bookkeeping as Fit: the batch's loss and correct count, before the update.
            loss_sum += loss.item() * index.shape[0]
            correct += (logits.detach().argmax(dim=1) == yb).sum().item()
        epoch_seconds.append(time.perf_counter() - start)
        train_loss = loss_sum / n

    model.eval()
    with torch.inference_mode():
        test_logits = model(test_x)
        test_loss = loss_fn(test_logits, test_y).item()
        test_accuracy = (test_logits.argmax(dim=1) == test_y).double().mean().item()

    print(json.dumps({
        "framework": "pytorch",
        # One width as a number (as every run before multi-layer models wrote it), several as "512-256".
        "hidden": args.hidden[0] if len(args.hidden) == 1 else "-".join(map(str, args.hidden)),
        "batch": args.batch,
        "threads": torch.get_num_threads(),
        "epochs": args.epochs,
        "train_samples": n,
        "steps_per_epoch": steps,
        "epoch_seconds": epoch_seconds,
        "final_train_loss": train_loss,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "load_seconds": load_seconds,
        "init": args.init,
        "flush_denormal": args.flush_denormal,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
