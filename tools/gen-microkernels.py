#!/usr/bin/env python3
"""Writes src/NeuralCore/Kernels/GemmMicroKernels.cs.

The micro-kernels keep an MR x NR tile of C in registers. The JIT keeps only locals in registers, so each tile
shape is written out in full; this script does the unrolling so the shapes stay consistent with each other.
Run it from the repository root after changing a shape: python3 tools/gen-microkernels.py
"""

KERNELS = [
    # name, vector type, lanes, MR, vectors per row
    ("Vector512x8x32", "Vector512", 16, 8, 2),
    ("Vector512x12x32", "Vector512", 16, 12, 2),
    ("Vector512x12x16", "Vector512", 16, 12, 1),
    ("Vector256x6x16", "Vector256", 8, 6, 2),
    ("Vector128x6x8", "Vector128", 4, 6, 2),
]

# Fewer rows of the same columns, for the ragged last panel of A only (packed, padded to the full tile's rows): a batch
# of 32 or 128 leaves 2 rows past the 6-row panels, and a full tile for them cost as much as 6 rows
# (GemmPlan.TailKernel).
TAIL_KERNELS = [
    ("Vector256x2x16", "Vector256", 8, 2, 2),
    ("Vector256x4x16", "Vector256", 8, 4, 2),
    ("Vector128x2x8", "Vector128", 4, 2, 2),
    ("Vector128x4x8", "Vector128", 4, 4, 2),
]


def store_tile(o, vt, lanes, mr, nv):
    """The tile's accumulators into C: C = acc, or C = acc + C when add; closes the method."""
    o.append("")
    o.append("        if (add)")
    o.append("        {")
    for r in range(mr):
        for v in range(nv):
            off = f"(ldc * {r}) + {v * lanes}" if r else f"{v * lanes}"
            o.append(f"            {vt}.Store(c{r}_{v} + {vt}.Load(c + {off}), c + {off});")
    o.append("        }")
    o.append("        else")
    o.append("        {")
    for r in range(mr):
        for v in range(nv):
            off = f"(ldc * {r}) + {v * lanes}" if r else f"{v * lanes}"
            o.append(f"            {vt}.Store(c{r}_{v}, c + {off});")
    o.append("        }")
    o.append("    }")


def declare_accumulators(o, vt, mr, nv):
    accs = [f"c{r}_{v}" for r in range(mr) for v in range(nv)]
    o.append(f"        {vt}<float> " + ", ".join(f"{x} = default" for x in accs) + ";")


def row_pointers(o, mr):
    o.append("        float* " + ", ".join(f"r{r} = a + ({r}L * aStep)" if r else "r0 = a" for r in range(mr)) + ";")


def step_body(o, vt, lanes, mr, nv, b, a_of):
    """One step's loads of B (from b) and multiply-adds; a_of(r) is row r's value of A at the step."""
    for v in range(nv):
        o.append(f"            {vt}<float> b{v} = {vt}.Load({b} + {v * lanes});")
    for r in range(mr):
        o.append(f"            {vt}<float> a{r} = {vt}.Create({a_of(r)});")
        for v in range(nv):
            o.append(f"            c{r}_{v} = {vt}.FusedMultiplyAdd(a{r}, b{v}, c{r}_{v});")


def vector_kernel(name, vt, lanes, mr, nv):
    nr = lanes * nv
    o = []
    o.append(f"    /// <summary>{mr}x{nr} tile with <see cref=\"{vt}{{T}}\"/> FMA: C[{mr}, {nr}] (+)= Apanel[kc, {mr}]ᵀ·Bpanel[kc, {nr}].</summary>")
    o.append("    [MethodImpl(MethodImplOptions.AggressiveOptimization)]")
    o.append(f"    public static void {name}(int kc, float* a, int aStep, float* b, float* c, int ldc, bool add)")
    o.append("    {")
    declare_accumulators(o, vt, mr, nv)
    o.append("        for (int p = 0; p < kc; p++)")
    o.append("        {")
    step_body(o, vt, lanes, mr, nv, "b", lambda r: f"a[{r}]")
    o.append("            a += aStep;")
    o.append(f"            b += {nr};")
    o.append("        }")
    store_tile(o, vt, lanes, mr, nv)
    return "\n".join(o)


def row_major_a_kernel(name, vt, lanes, mr, nv):
    """The same tile, reading A in place from mr rows aStep floats apart (a row-major A), one pointer per row."""
    nr = lanes * nv
    o = []
    o.append(f"    /// <summary>")
    o.append(f"    /// As <see cref=\"{name}\"/> with A read in place: row r of the tile at <c>a + r·aStep</c>, step p at")
    o.append(f"    /// <c>a[r·aStep + p]</c> (a row-major A, not packed). The same multiply-adds in the same order.")
    o.append(f"    /// </summary>")
    o.append("    [MethodImpl(MethodImplOptions.AggressiveOptimization)]")
    o.append(f"    public static void {name}RowA(int kc, float* a, int aStep, float* b, float* c, int ldc, bool add)")
    o.append("    {")
    declare_accumulators(o, vt, mr, nv)
    row_pointers(o, mr)
    o.append("        for (nint p = 0; p < kc; p++)")
    o.append("        {")
    step_body(o, vt, lanes, mr, nv, "b", lambda r: f"r{r}[p]")
    o.append(f"            b += {nr};")
    o.append("        }")
    store_tile(o, vt, lanes, mr, nv)
    return "\n".join(o)


def steps_kernel(name, vt, lanes, mr, nv):
    """The tile over listed steps only: the k steps at which the tile's rows of A are all zero left out."""
    nr = lanes * nv
    o = []
    o.append(f"    /// <summary>")
    o.append(f"    /// As <see cref=\"{name}\"/> over the <paramref name=\"count\"/> steps listed in <paramref name=\"steps\"/>")
    o.append(f"    /// (increasing) only: step p reads <c>a[p·aStep + r]</c> and <c>b[p·{nr} + j]</c>, the addresses the full loop reads")
    o.append(f"    /// there. The listed steps' multiply-adds in the same order.")
    o.append(f"    /// </summary>")
    o.append("    [MethodImpl(MethodImplOptions.AggressiveOptimization)]")
    o.append(f"    public static void {name}Steps(int count, int* steps, float* a, int aStep, float* b, float* c, int ldc, bool add)")
    o.append("    {")
    declare_accumulators(o, vt, mr, nv)
    o.append("        for (nint i = 0; i < count; i++)")
    o.append("        {")
    o.append("            nint p = steps[i];")
    o.append("            float* ap = a + (p * aStep);")
    o.append(f"            float* bp = b + (p * {nr});")
    step_body(o, vt, lanes, mr, nv, "bp", lambda r: f"ap[{r}]")
    o.append("        }")
    store_tile(o, vt, lanes, mr, nv)
    return "\n".join(o)


def row_major_a_steps_kernel(name, vt, lanes, mr, nv):
    """The row-major-A tile over listed steps only."""
    nr = lanes * nv
    o = []
    o.append(f"    /// <summary>")
    o.append(f"    /// As <see cref=\"{name}RowA\"/> over the <paramref name=\"count\"/> steps listed in")
    o.append(f"    /// <paramref name=\"steps\"/> (increasing) only: step p reads <c>a[r·aStep + p]</c> and <c>b[p·{nr} + j]</c>.")
    o.append(f"    /// </summary>")
    o.append("    [MethodImpl(MethodImplOptions.AggressiveOptimization)]")
    o.append(f"    public static void {name}RowASteps(int count, int* steps, float* a, int aStep, float* b, float* c, int ldc, bool add)")
    o.append("    {")
    declare_accumulators(o, vt, mr, nv)
    row_pointers(o, mr)
    o.append("        for (nint i = 0; i < count; i++)")
    o.append("        {")
    o.append("            nint p = steps[i];")
    o.append(f"            float* bp = b + (p * {nr});")
    step_body(o, vt, lanes, mr, nv, "bp", lambda r: f"r{r}[p]")
    o.append("        }")
    store_tile(o, vt, lanes, mr, nv)
    return "\n".join(o)


def scalar_kernel(mr, nr, steps=False):
    o = []
    if steps:
        o.append(f"    /// <summary>As <see cref=\"Scalar{mr}x{nr}\"/> over the <paramref name=\"count\"/> steps listed in <paramref name=\"steps\"/> only.</summary>")
    else:
        o.append(f"    /// <summary>{mr}x{nr} tile in scalar code, for hardware without usable SIMD.</summary>")
    o.append("    [MethodImpl(MethodImplOptions.AggressiveOptimization)]")
    if steps:
        o.append(f"    public static void Scalar{mr}x{nr}Steps(int count, int* steps, float* a, int aStep, float* b, float* c, int ldc, bool add)")
    else:
        o.append(f"    public static void Scalar{mr}x{nr}(int kc, float* a, int aStep, float* b, float* c, int ldc, bool add)")
    o.append("    {")
    accs = [f"c{r}_{j}" for r in range(mr) for j in range(nr)]
    o.append("        float " + ", ".join(f"{x} = 0f" for x in accs) + ";")
    if steps:
        o.append("        for (nint i = 0; i < count; i++)")
        o.append("        {")
        o.append("            nint p = steps[i];")
        o.append("            float* ap = a + (p * aStep);")
        o.append(f"            float* bp = b + (p * {nr});")
    else:
        o.append("        for (int p = 0; p < kc; p++)")
        o.append("        {")
    src_b = "bp" if steps else "b"
    src_a = "ap" if steps else "a"
    for j in range(nr):
        o.append(f"            float b{j} = {src_b}[{j}];")
    for r in range(mr):
        o.append(f"            float a{r} = {src_a}[{r}];")
        for j in range(nr):
            o.append(f"            c{r}_{j} += a{r} * b{j};")
    if not steps:
        o.append("            a += aStep;")
        o.append(f"            b += {nr};")
    o.append("        }")
    o.append("")
    for r in range(mr):
        o.append(f"        float* row{r} = c + (ldc * {r});")
        for j in range(nr):
            o.append(f"        row{r}[{j}] = add ? row{r}[{j}] + c{r}_{j} : c{r}_{j};")
    o.append("    }")
    return "\n".join(o)


HEADER = """// <auto-generated>Written by tools/gen-microkernels.py; edit the script, not this file.</auto-generated>
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NeuralCore.Kernels;

/// <summary>
/// Register-blocked GEMM micro-kernels. Each computes one full MR x NR tile of C from an A panel (kc steps of MR
/// values, <c>aStep</c> floats apart: MR when packed, or the row length of a transposed A read in place) and a packed
/// B panel (kc steps of NR values), zero-padded, and writes it: <c>C = acc</c>, or <c>C = C + acc</c> when <c>add</c>. Ragged edge tiles are computed into a scratch tile and copied with
/// <see cref="GemmPacking.StoreEdge"/>: a kernel with its own edge path (a stackalloc) made the JIT spill every accumulator to
/// the stack on each step when dynamic PGO was off, a 3-5x slowdown.
/// </summary>
/// <remarks>
/// Every element of C is one accumulator lane summed in increasing p, so a value does not depend on where its tile
/// lies; the parallel driver relies on that for results that do not depend on the thread count.
/// </remarks>
internal static unsafe class GemmMicroKernels
{
"""

SCALAR = (4, 4)

# The tiles that also read a row-major A in place (a batch in a forward product): the widest tile of each ISA that
# packs A otherwise. Packing it cost each thread a pass over the batch, on every thread that shares the product.
ROW_MAJOR_A = ("Vector512x8x32", "Vector256x6x16")


def tile_constants():
    """Each kernel's MR and NR, and the largest of each: the one place the tile sizes are stated in C#."""
    shapes = [(name, mr, lanes * nv) for name, _, lanes, mr, nv in KERNELS + TAIL_KERNELS]
    shapes.append((f"Scalar{SCALAR[0]}x{SCALAR[1]}", SCALAR[0], SCALAR[1]))
    o = ["    // Each kernel's tile (rows MR, columns NR) as this script writes it: GemmPlan takes the sizes from here, and the"]
    o.append("    // scratch tile for ragged edges is sized by the largest.")
    for name, mr, nr in shapes:
        o.append(f"    public const int {name}Mr = {mr}, {name}Nr = {nr};")
    o.append("")
    o.append("    /// <summary>The most rows of any kernel's tile.</summary>")
    o.append(f"    public const int MaxMr = {max(mr for _, mr, _ in shapes)};")
    o.append("")
    o.append("    /// <summary>The most columns of any kernel's tile.</summary>")
    o.append(f"    public const int MaxNr = {max(nr for _, _, nr in shapes)};")
    return "\n".join(o)


parts = [HEADER]
parts.append(tile_constants())
for k in KERNELS:
    parts.append("")
    parts.append(vector_kernel(*k))
    parts.append("")
    parts.append(steps_kernel(*k))
    if k[0] in ROW_MAJOR_A:
        parts.append("")
        parts.append(row_major_a_kernel(*k))
        parts.append("")
        parts.append(row_major_a_steps_kernel(*k))
for k in TAIL_KERNELS:
    parts.append("")
    parts.append(vector_kernel(*k))
    parts.append("")
    parts.append(steps_kernel(*k))
parts.append("")
parts.append(scalar_kernel(*SCALAR))
parts.append("")
parts.append(scalar_kernel(*SCALAR, steps=True))
parts.append("}")
open("src/NeuralCore/Kernels/GemmMicroKernels.cs", "w").write("\n".join(parts) + "\n")
