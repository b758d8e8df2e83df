using FsCheck;
using FsCheck.Fluent;

namespace NeuralCore.Tests.Kernels;

/// <summary>A GEMM problem: sizes, layouts and a seed for its values.</summary>
public sealed record GemmCase(int M, int N, int K, bool TransposeA, bool TransposeB, bool Accumulate, int Seed)
{
    public override string ToString() =>
        $"{M}x{N}x{K} transA={TransposeA} transB={TransposeB} acc={Accumulate} seed={Seed}";
}

/// <summary>FsCheck generators for kernel properties.</summary>
public static class KernelGenerators
{
    // 0, 1, primes, and sizes just off the vector widths (4, 8, 16), the micro-tiles (MR 4/6/12, NR 4/8/16/32)
    // and the blocks (kc 256, mc 144).
    private static readonly int[] EdgeSizes =
        [0, 1, 2, 3, 5, 7, 11, 12, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33, 37, 47, 48, 63, 64, 65, 97, 143, 145, 257];

    /// <summary>Sizes mixing the edge list with uniform draws.</summary>
    public static Gen<int> Size(int max) =>
        Gen.OneOf(Gen.Elements(EdgeSizes.Where(s => s <= max).ToArray()), Gen.Choose(0, max));

    public static Arbitrary<GemmCase> GemmCases() =>
        (from m in Size(150)
         from n in Size(150)
         from k in Size(300)
         from ta in Gen.Elements(false, true)
         from tb in Gen.Elements(false, true)
         from acc in Gen.Elements(false, true)
         from seed in Gen.Choose(0, int.MaxValue)
         select new GemmCase(m, n, k, ta, tb, acc, seed))
        .Where(c => (long)c.M * c.N * c.K <= 1_500_000)
        .ToArbitrary();
}
