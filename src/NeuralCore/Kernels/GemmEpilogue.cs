using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NeuralCore.Kernels;

/// <summary>What a product does to each element of C once its sum is complete.</summary>
internal enum GemmEpilogueKind
{
    /// <summary>Nothing: C is the product.</summary>
    None,

    /// <summary><c>C[i, j] += bias[j]</c> (a dense layer's forward).</summary>
    Bias,

    /// <summary><c>C[i, j] = max(C[i, j] + bias[j], 0)</c> (a dense layer followed by ReLU).</summary>
    BiasRelu,

    /// <summary><c>C[i, j] = mask[i, j] &gt; 0 ? C[i, j] : 0</c> (ReLU's backward applied to an input gradient).</summary>
    ReluMask,
}

/// <summary>
/// An element-wise operation applied to each tile of C right after its last k block is stored, while the tile is
/// still in L1: a separate pass over C would read and write the whole matrix again. Every element goes through the
/// same scalar-equivalent operations (one add, a max, or a select), so results are bitwise those of the separate
/// <see cref="Elementwise"/> kernels, at any vector width and any thread count.
/// </summary>
internal readonly unsafe struct GemmEpilogue
{
    private GemmEpilogue(GemmEpilogueKind kind, float* bias, float* mask, int maskStride)
    {
        Kind = kind;
        Bias = bias;
        Mask = mask;
        MaskStride = maskStride;
    }

    /// <summary>The operation.</summary>
    public GemmEpilogueKind Kind { get; }

    /// <summary>The <c>[n]</c> bias, for <see cref="GemmEpilogueKind.Bias"/> and <see cref="GemmEpilogueKind.BiasRelu"/>.</summary>
    public float* Bias { get; }

    /// <summary>The <c>[m, n]</c> mask (a ReLU's output), for <see cref="GemmEpilogueKind.ReluMask"/>.</summary>
    public float* Mask { get; }

    /// <summary>The distance between rows of <see cref="Mask"/>.</summary>
    public int MaskStride { get; }

    /// <summary>No epilogue.</summary>
    public static GemmEpilogue None => default;

    /// <summary>Adds <paramref name="bias"/> to every row, then applies ReLU when <paramref name="relu"/>.</summary>
    public static GemmEpilogue AddBias(float* bias, bool relu) =>
        new(relu ? GemmEpilogueKind.BiasRelu : GemmEpilogueKind.Bias, bias, null, 0);

    /// <summary>Zeroes every element whose <paramref name="mask"/> element is not positive.</summary>
    public static GemmEpilogue MaskRelu(float* mask, int stride) => new(GemmEpilogueKind.ReluMask, null, mask, stride);

    /// <summary>Applies the operation to <paramref name="count"/> elements of row <paramref name="row"/> of C, from column <paramref name="col"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ApplyRow(float* c, int row, int col, int count)
    {
        switch (Kind)
        {
            case GemmEpilogueKind.Bias:
                AddRow(c, Bias + col, count, relu: false);
                break;
            case GemmEpilogueKind.BiasRelu:
                AddRow(c, Bias + col, count, relu: true);
                break;
            case GemmEpilogueKind.ReluMask:
                MaskRow(c, Mask + ((long)row * MaskStride) + col, count);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddRow(float* c, float* bias, int count, bool relu)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + 16 <= count; j += 16)
            {
                Vector512<float> v = Vector512.Load(c + j) + Vector512.Load(bias + j);
                Vector512.Store(relu ? Vector512.Max(v, Vector512<float>.Zero) : v, c + j);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 8 <= count; j += 8)
            {
                Vector256<float> v = Vector256.Load(c + j) + Vector256.Load(bias + j);
                Vector256.Store(relu ? Vector256.Max(v, Vector256<float>.Zero) : v, c + j);
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            for (; j + 4 <= count; j += 4)
            {
                Vector128<float> v = Vector128.Load(c + j) + Vector128.Load(bias + j);
                Vector128.Store(relu ? Vector128.Max(v, Vector128<float>.Zero) : v, c + j);
            }
        }

        for (; j < count; j++)
        {
            float v = c[j] + bias[j];
            c[j] = relu ? MathF.Max(v, 0f) : v;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaskRow(float* c, float* mask, int count)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + 16 <= count; j += 16)
            {
                Vector512<float> keep = Vector512.GreaterThan(Vector512.Load(mask + j), Vector512<float>.Zero);
                Vector512.Store(Vector512.BitwiseAnd(Vector512.Load(c + j), keep), c + j);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 8 <= count; j += 8)
            {
                Vector256<float> keep = Vector256.GreaterThan(Vector256.Load(mask + j), Vector256<float>.Zero);
                Vector256.Store(Vector256.BitwiseAnd(Vector256.Load(c + j), keep), c + j);
            }
        }

        if (Vector128.IsHardwareAccelerated)
        {
            for (; j + 4 <= count; j += 4)
            {
                Vector128<float> keep = Vector128.GreaterThan(Vector128.Load(mask + j), Vector128<float>.Zero);
                Vector128.Store(Vector128.BitwiseAnd(Vector128.Load(c + j), keep), c + j);
            }
        }

        for (; j < count; j++)
        {
            c[j] = mask[j] > 0f ? c[j] : 0f;
        }
    }
}
