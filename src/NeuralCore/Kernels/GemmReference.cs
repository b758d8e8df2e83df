namespace NeuralCore.Kernels;

/// <summary>
/// The naive single-precision matrix product that defines what <see cref="Gemm.Multiply"/> computes; tests compare
/// the fast kernel with it.
/// </summary>
public static class GemmReference
{
    /// <summary>
    /// Computes <c>C = op(A)·op(B)</c>, or <c>C += op(A)·op(B)</c> when <paramref name="accumulate"/> is true, with
    /// row-major storage and one float accumulator per element summed in increasing <c>p</c>:
    /// <c>C[i,j] (+)= Σ_p op(A)[i,p]·op(B)[p,j]</c>.
    /// </summary>
    /// <param name="a">op(A) is <c>[m, k]</c>: <paramref name="a"/> holds <c>[m, k]</c>, or <c>[k, m]</c> when <paramref name="transposeA"/>.</param>
    /// <param name="b">op(B) is <c>[k, n]</c>: <paramref name="b"/> holds <c>[k, n]</c>, or <c>[n, k]</c> when <paramref name="transposeB"/>.</param>
    /// <param name="c">The <c>[m, n]</c> destination.</param>
    /// <param name="m">Rows of op(A) and C.</param>
    /// <param name="n">Columns of op(B) and C.</param>
    /// <param name="k">The reduction length.</param>
    /// <param name="transposeA">Whether <paramref name="a"/> is stored transposed.</param>
    /// <param name="transposeB">Whether <paramref name="b"/> is stored transposed.</param>
    /// <param name="accumulate">Add to <paramref name="c"/> instead of overwriting it.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative.</exception>
    /// <exception cref="ArgumentException">A span is shorter than its shape, or <paramref name="c"/> overlaps an input.</exception>
    public static void Multiply(
        ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transposeA = false, bool transposeB = false, bool accumulate = false)
    {
        Gemm.Validate(a, b, c, m, n, k);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float sum = 0f;
                for (int p = 0; p < k; p++)
                {
                    float x = transposeA ? a[(p * m) + i] : a[(i * k) + p];
                    float y = transposeB ? b[(j * k) + p] : b[(p * n) + j];
                    sum += x * y;
                }

                int index = (i * n) + j;
                c[index] = accumulate ? c[index] + sum : sum;
            }
        }
    }
}
