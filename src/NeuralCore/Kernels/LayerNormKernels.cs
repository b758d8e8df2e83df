using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace NeuralCore.Kernels;

/// <summary>
/// Layer normalization over row-major <c>[batch, features]</c> activations, per sample (row): the row's mean and
/// variance, the normalization <c>y = γ·(x - μ)·s + β</c> with <c>s = 1/√(σ² + ε)</c>, and its backward pass. All in
/// double. A row's sums are taken in eight running sums (element <c>j</c> into sum <c>j mod 8</c>, the last
/// <c>features mod 8</c> elements after them in order) combined in one fixed order, and a column's sums over the batch
/// sample after sample, so the results depend on neither the thread count nor the vector width: the 512-bit paths
/// hold the eight sums in one register, the 256-bit ones in two, the 128-bit ones in four, the scalar one in eight
/// variables.
/// </summary>
public static class LayerNormKernels
{
    /// <summary>
    /// The mean <c>μ = Σx/F</c> and the scale <c>s = 1/√(σ² + ε)</c>, with the biased variance <c>σ² = Σ(x - μ)²/F</c>,
    /// of each row (two passes: one pass of Σx² - Fμ² cancels when the mean is large against the spread), then
    /// <c>y = γ·(x - μ)·s + β</c> per element, each result rounded to float once.
    /// </summary>
    /// <param name="x">The <c>[batch, features]</c> activations.</param>
    /// <param name="y">The <c>[batch, features]</c> output, overwritten; may be <paramref name="x"/> itself.</param>
    /// <param name="batch">N, non-negative.</param>
    /// <param name="features">F, positive.</param>
    /// <param name="gamma">γ per feature.</param>
    /// <param name="beta">β per feature.</param>
    /// <param name="epsilon">ε, positive and finite.</param>
    /// <param name="mean">μ per row, <paramref name="batch"/> doubles, overwritten.</param>
    /// <param name="scale">s per row, <paramref name="batch"/> doubles, overwritten.</param>
    /// <exception cref="ArgumentException">A span does not hold its shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is negative, <paramref name="features"/> not positive, or <paramref name="epsilon"/> not positive and finite.</exception>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, int batch, int features, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        float epsilon, Span<double> mean, Span<double> scale)
    {
        CheckShape(x.Length, batch, features, nameof(x));
        CheckShape(y.Length, batch, features, nameof(y));
        PerFeature(gamma.Length, features, nameof(gamma));
        PerFeature(beta.Length, features, nameof(beta));
        Check.Positive(epsilon, nameof(epsilon));
        Check.Holds(mean.Length, batch, 1, nameof(mean), "batch", unit: "doubles");
        Check.Holds(scale.Length, batch, 1, nameof(scale), "batch", unit: "doubles");
        ForwardRows(x, y, features, 0, batch, gamma, beta, epsilon, mean, scale, KernelIsaSupport.Widest);
    }

    /// <summary>
    /// <see cref="Forward"/> of rows <c>[first, end)</c> only, with vectors no wider than <paramref name="isa"/>: each
    /// row is computed alone, so any division of the rows among threads gives the same bits. The caller has checked the
    /// shapes and that <paramref name="isa"/> is supported.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ForwardRows(ReadOnlySpan<float> x, Span<float> y, int features, int first, int end, ReadOnlySpan<float> gamma,
        ReadOnlySpan<float> beta, float epsilon, Span<double> mean, Span<double> scale, KernelIsa isa)
    {
        for (int n = first; n < end; n++)
        {
            ReadOnlySpan<float> row = x.Slice(n * features, features);
            double mu = Sum(row, isa) / features;
            double s = 1 / Math.Sqrt((SumOfSquaredDeviations(row, mu, isa) / features) + epsilon);
            (mean[n], scale[n]) = (mu, s);
            Span<float> output = y.Slice(n * features, features);
            int j = 0;
            if (isa >= KernelIsa.Vector512)
            {
                Vector512<double> m = Vector512.Create(mu), sv = Vector512.Create(s);
                for (; j <= features - 16; j += 16)
                {
                    var (lo, hi) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                    var (gLo, gHi) = Vector512.Widen(Vector512.Create(gamma.Slice(j, 16)));
                    var (bLo, bHi) = Vector512.Widen(Vector512.Create(beta.Slice(j, 16)));
                    lo = (gLo * ((lo - m) * sv)) + bLo;
                    hi = (gHi * ((hi - m) * sv)) + bHi;
                    Vector512.Narrow(lo, hi).CopyTo(output.Slice(j, 16));
                }
            }

            if (isa >= KernelIsa.Vector256)
            {
                Vector256<double> m = Vector256.Create(mu), sv = Vector256.Create(s);
                for (; j <= features - 8; j += 8)
                {
                    var (lo, hi) = Vector256.Widen(Vector256.Create(row.Slice(j, 8)));
                    var (gLo, gHi) = Vector256.Widen(Vector256.Create(gamma.Slice(j, 8)));
                    var (bLo, bHi) = Vector256.Widen(Vector256.Create(beta.Slice(j, 8)));
                    lo = (gLo * ((lo - m) * sv)) + bLo;
                    hi = (gHi * ((hi - m) * sv)) + bHi;
                    Vector256.Narrow(lo, hi).CopyTo(output.Slice(j, 8));
                }
            }

            if (isa >= KernelIsa.Vector128)
            {
                Vector128<double> m = Vector128.Create(mu), sv = Vector128.Create(s);
                for (; j <= features - 4; j += 4)
                {
                    var (lo, hi) = Vector128.Widen(Vector128.Create(row.Slice(j, 4)));
                    var (gLo, gHi) = Vector128.Widen(Vector128.Create(gamma.Slice(j, 4)));
                    var (bLo, bHi) = Vector128.Widen(Vector128.Create(beta.Slice(j, 4)));
                    lo = (gLo * ((lo - m) * sv)) + bLo;
                    hi = (gHi * ((hi - m) * sv)) + bHi;
                    Vector128.Narrow(lo, hi).CopyTo(output.Slice(j, 4));
                }
            }

            for (; j < features; j++)
            {
                output[j] = (float)((gamma[j] * ((row[j] - mu) * s)) + beta[j]);
            }
        }
    }

    /// <summary>
    /// The backward pass of <see cref="Forward"/>: with <c>x̂ = (x - μ)·s</c> and <c>g = dy·γ</c>, adds <c>Σ dy·x̂</c>
    /// over the rows to <paramref name="gammaGrad"/> and <c>Σ dy</c> to <paramref name="betaGrad"/>, and, unless
    /// <paramref name="inputGrad"/> is empty, writes <c>dx = s·(g - Σg/F - x̂·Σ(g·x̂)/F)</c> per row.
    /// </summary>
    /// <param name="x">The forward input.</param>
    /// <param name="outputGrad">dy, <c>[batch, features]</c>.</param>
    /// <param name="inputGrad">dx, <c>[batch, features]</c>, overwritten; or empty.</param>
    /// <param name="batch">N, non-negative.</param>
    /// <param name="features">F, positive.</param>
    /// <param name="mean">The forward's μ per row.</param>
    /// <param name="scale">The forward's s per row.</param>
    /// <param name="gamma">γ.</param>
    /// <param name="gammaGrad">∂L/∂γ, added to.</param>
    /// <param name="betaGrad">∂L/∂β, added to.</param>
    /// <param name="sums">Scratch of <c>2·features</c> doubles, overwritten.</param>
    /// <exception cref="ArgumentException">A span does not hold its shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is negative or <paramref name="features"/> not positive.</exception>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch, int features,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> scale, ReadOnlySpan<float> gamma, Span<float> gammaGrad, Span<float> betaGrad, Span<double> sums)
    {
        CheckShape(x.Length, batch, features, nameof(x));
        CheckShape(outputGrad.Length, batch, features, nameof(outputGrad));
        if (!inputGrad.IsEmpty)
        {
            CheckShape(inputGrad.Length, batch, features, nameof(inputGrad));
        }

        Check.Holds(mean.Length, batch, 1, nameof(mean), "batch", unit: "doubles");
        Check.Holds(scale.Length, batch, 1, nameof(scale), "batch", unit: "doubles");
        PerFeature(gamma.Length, features, nameof(gamma));
        PerFeature(gammaGrad.Length, features, nameof(gammaGrad));
        PerFeature(betaGrad.Length, features, nameof(betaGrad));
        Check.Holds(sums.Length, 2L * features, 1, nameof(sums), "2·features", unit: "doubles");
        ParameterGradientColumns(x, outputGrad, batch, features, 0, features, mean, scale, gammaGrad, betaGrad, sums, KernelIsaSupport.Widest);
        if (!inputGrad.IsEmpty)
        {
            InputGradientRows(x, outputGrad, inputGrad, features, 0, batch, mean, scale, gamma, KernelIsaSupport.Widest);
        }
    }

    /// <summary>
    /// <see cref="Backward"/>'s γ and β gradients of features <c>[first, end)</c> only, each column summed over the rows in
    /// order (into its places in <paramref name="sums"/>: dy at <c>[0, features)</c>, dy·x̂ at
    /// <c>[features, 2·features)</c>), then added to the gradients, with vectors no wider than <paramref name="isa"/>; the
    /// caller has checked the shapes and that <paramref name="isa"/> is supported.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ParameterGradientColumns(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, int batch, int features, int first, int end,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> scale, Span<float> gammaGrad, Span<float> betaGrad, Span<double> sums, KernelIsa isa)
    {
        int count = end - first;
        Span<double> dySum = sums.Slice(first, count), dyXhatSum = sums.Slice(features + first, count);
        dySum.Clear();
        dyXhatSum.Clear();
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> row = x.Slice((n * features) + first, count), dy = outputGrad.Slice((n * features) + first, count);
            double mu = mean[n], s = scale[n];
            int j = 0;
            if (isa >= KernelIsa.Vector512)
            {
                Vector512<double> m = Vector512.Create(mu), sv = Vector512.Create(s);
                ref double a = ref MemoryMarshal.GetReference(dySum);
                ref double b = ref MemoryMarshal.GetReference(dyXhatSum);
                for (; j <= count - 16; j += 16)
                {
                    var (lo, hi) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                    var (dLo, dHi) = Vector512.Widen(Vector512.Create(dy.Slice(j, 16)));
                    (Vector512.LoadUnsafe(ref a, (nuint)j) + dLo).StoreUnsafe(ref a, (nuint)j);
                    (Vector512.LoadUnsafe(ref a, (nuint)j + 8) + dHi).StoreUnsafe(ref a, (nuint)j + 8);
                    (Vector512.LoadUnsafe(ref b, (nuint)j) + (dLo * ((lo - m) * sv))).StoreUnsafe(ref b, (nuint)j);
                    (Vector512.LoadUnsafe(ref b, (nuint)j + 8) + (dHi * ((hi - m) * sv))).StoreUnsafe(ref b, (nuint)j + 8);
                }
            }

            if (isa >= KernelIsa.Vector256)
            {
                Vector256<double> m = Vector256.Create(mu), sv = Vector256.Create(s);
                ref double a = ref MemoryMarshal.GetReference(dySum);
                ref double b = ref MemoryMarshal.GetReference(dyXhatSum);
                for (; j <= count - 8; j += 8)
                {
                    var (lo, hi) = Vector256.Widen(Vector256.Create(row.Slice(j, 8)));
                    var (dLo, dHi) = Vector256.Widen(Vector256.Create(dy.Slice(j, 8)));
                    (Vector256.LoadUnsafe(ref a, (nuint)j) + dLo).StoreUnsafe(ref a, (nuint)j);
                    (Vector256.LoadUnsafe(ref a, (nuint)j + 4) + dHi).StoreUnsafe(ref a, (nuint)j + 4);
                    (Vector256.LoadUnsafe(ref b, (nuint)j) + (dLo * ((lo - m) * sv))).StoreUnsafe(ref b, (nuint)j);
                    (Vector256.LoadUnsafe(ref b, (nuint)j + 4) + (dHi * ((hi - m) * sv))).StoreUnsafe(ref b, (nuint)j + 4);
                }
            }

            if (isa >= KernelIsa.Vector128)
            {
                Vector128<double> m = Vector128.Create(mu), sv = Vector128.Create(s);
                ref double a = ref MemoryMarshal.GetReference(dySum);
                ref double b = ref MemoryMarshal.GetReference(dyXhatSum);
                for (; j <= count - 4; j += 4)
                {
                    var (lo, hi) = Vector128.Widen(Vector128.Create(row.Slice(j, 4)));
                    var (dLo, dHi) = Vector128.Widen(Vector128.Create(dy.Slice(j, 4)));
                    (Vector128.LoadUnsafe(ref a, (nuint)j) + dLo).StoreUnsafe(ref a, (nuint)j);
                    (Vector128.LoadUnsafe(ref a, (nuint)j + 2) + dHi).StoreUnsafe(ref a, (nuint)j + 2);
                    (Vector128.LoadUnsafe(ref b, (nuint)j) + (dLo * ((lo - m) * sv))).StoreUnsafe(ref b, (nuint)j);
                    (Vector128.LoadUnsafe(ref b, (nuint)j + 2) + (dHi * ((hi - m) * sv))).StoreUnsafe(ref b, (nuint)j + 2);
                }
            }

            for (; j < count; j++)
            {
                dySum[j] += dy[j];
                dyXhatSum[j] += dy[j] * ((row[j] - mu) * s);
            }
        }

        for (int j = 0; j < count; j++)
        {
            gammaGrad[first + j] += (float)dyXhatSum[j];
            betaGrad[first + j] += (float)dySum[j];
        }
    }

    /// <summary>
    /// <see cref="Backward"/>'s input gradient of rows <c>[first, end)</c> only, with vectors no wider than
    /// <paramref name="isa"/>; the caller has checked the shapes and that <paramref name="isa"/> is supported.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void InputGradientRows(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int features, int first, int end,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> scale, ReadOnlySpan<float> gamma, KernelIsa isa)
    {
        for (int n = first; n < end; n++)
        {
            ReadOnlySpan<float> row = x.Slice(n * features, features), dy = outputGrad.Slice(n * features, features);
            Span<float> dx = inputGrad.Slice(n * features, features);
            double mu = mean[n], s = scale[n];
            (double gMean, double gxMean) = GradientMeans(row, dy, gamma, mu, s, isa);
            int j = 0;
            if (isa >= KernelIsa.Vector512)
            {
                Vector512<double> m = Vector512.Create(mu), sv = Vector512.Create(s), a = Vector512.Create(gMean), b = Vector512.Create(gxMean);
                for (; j <= features - 16; j += 16)
                {
                    var (lo, hi) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                    var (dLo, dHi) = Vector512.Widen(Vector512.Create(dy.Slice(j, 16)));
                    var (gLo, gHi) = Vector512.Widen(Vector512.Create(gamma.Slice(j, 16)));
                    lo = sv * ((dLo * gLo) - a - (((lo - m) * sv) * b));
                    hi = sv * ((dHi * gHi) - a - (((hi - m) * sv) * b));
                    Vector512.Narrow(lo, hi).CopyTo(dx.Slice(j, 16));
                }
            }

            if (isa >= KernelIsa.Vector256)
            {
                Vector256<double> m = Vector256.Create(mu), sv = Vector256.Create(s), a = Vector256.Create(gMean), b = Vector256.Create(gxMean);
                for (; j <= features - 8; j += 8)
                {
                    var (lo, hi) = Vector256.Widen(Vector256.Create(row.Slice(j, 8)));
                    var (dLo, dHi) = Vector256.Widen(Vector256.Create(dy.Slice(j, 8)));
                    var (gLo, gHi) = Vector256.Widen(Vector256.Create(gamma.Slice(j, 8)));
                    lo = sv * ((dLo * gLo) - a - (((lo - m) * sv) * b));
                    hi = sv * ((dHi * gHi) - a - (((hi - m) * sv) * b));
                    Vector256.Narrow(lo, hi).CopyTo(dx.Slice(j, 8));
                }
            }

            if (isa >= KernelIsa.Vector128)
            {
                Vector128<double> m = Vector128.Create(mu), sv = Vector128.Create(s), a = Vector128.Create(gMean), b = Vector128.Create(gxMean);
                for (; j <= features - 4; j += 4)
                {
                    var (lo, hi) = Vector128.Widen(Vector128.Create(row.Slice(j, 4)));
                    var (dLo, dHi) = Vector128.Widen(Vector128.Create(dy.Slice(j, 4)));
                    var (gLo, gHi) = Vector128.Widen(Vector128.Create(gamma.Slice(j, 4)));
                    lo = sv * ((dLo * gLo) - a - (((lo - m) * sv) * b));
                    hi = sv * ((dHi * gHi) - a - (((hi - m) * sv) * b));
                    Vector128.Narrow(lo, hi).CopyTo(dx.Slice(j, 4));
                }
            }

            for (; j < features; j++)
            {
                dx[j] = (float)(s * (((double)dy[j] * gamma[j]) - gMean - (((row[j] - mu) * s) * gxMean)));
            }
        }
    }

    // Σg/F and Σ(g·x̂)/F over one row, g = dy·γ, x̂ = (x - μ)·s, in the eight running sums of the class summary.
    private static (double GradientMean, double ProductMean) GradientMeans(ReadOnlySpan<float> row, ReadOnlySpan<float> dy, ReadOnlySpan<float> gamma,
        double mu, double s, KernelIsa isa)
    {
        int features = row.Length, j = 0;
        double gSum, pSum;
        if (isa >= KernelIsa.Vector256)
        {
            Vector256<double> ga = Vector256<double>.Zero, gb = Vector256<double>.Zero, pa = Vector256<double>.Zero, pb = Vector256<double>.Zero;
            Vector256<double> m = Vector256.Create(mu), sv = Vector256.Create(s);
            if (isa >= KernelIsa.Vector512)
            {
                // One register per sum holds its eight running sums, in the 256-bit loop's order.
                Vector512<double> g = Vector512<double>.Zero, p = Vector512<double>.Zero, m512 = Vector512.Create(mu), s512 = Vector512.Create(s);
                for (; j <= features - 16; j += 16)
                {
                    var (lo, hi) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                    var (dLo, dHi) = Vector512.Widen(Vector512.Create(dy.Slice(j, 16)));
                    var (gLo, gHi) = Vector512.Widen(Vector512.Create(gamma.Slice(j, 16)));
                    gLo *= dLo;
                    gHi *= dHi;
                    g += gLo;
                    p += gLo * ((lo - m512) * s512);
                    g += gHi;
                    p += gHi * ((hi - m512) * s512);
                }

                (ga, gb, pa, pb) = (g.GetLower(), g.GetUpper(), p.GetLower(), p.GetUpper());
            }

            for (; j <= features - 8; j += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create(row.Slice(j, 8)));
                var (dLo, dHi) = Vector256.Widen(Vector256.Create(dy.Slice(j, 8)));
                var (gLo, gHi) = Vector256.Widen(Vector256.Create(gamma.Slice(j, 8)));
                gLo *= dLo;
                gHi *= dHi;
                ga += gLo;
                gb += gHi;
                pa += gLo * ((lo - m) * sv);
                pb += gHi * ((hi - m) * sv);
            }

            (gSum, pSum) = (Combine(ga, gb), Combine(pa, pb));
        }
        else if (isa == KernelIsa.Vector128)
        {
            // Each sum's eight running sums in four registers: elements j..j+1, j+2..j+3, j+4..j+5, j+6..j+7.
            Vector128<double> g0 = Vector128<double>.Zero, g1 = Vector128<double>.Zero, g2 = Vector128<double>.Zero, g3 = Vector128<double>.Zero;
            Vector128<double> p0 = Vector128<double>.Zero, p1 = Vector128<double>.Zero, p2 = Vector128<double>.Zero, p3 = Vector128<double>.Zero;
            Vector128<double> m = Vector128.Create(mu), sv = Vector128.Create(s);
            for (; j <= features - 8; j += 8)
            {
                var (lo, hi) = Vector128.Widen(Vector128.Create(row.Slice(j, 4)));
                var (dLo, dHi) = Vector128.Widen(Vector128.Create(dy.Slice(j, 4)));
                var (gLo, gHi) = Vector128.Widen(Vector128.Create(gamma.Slice(j, 4)));
                gLo *= dLo;
                gHi *= dHi;
                g0 += gLo;
                g1 += gHi;
                p0 += gLo * ((lo - m) * sv);
                p1 += gHi * ((hi - m) * sv);
                (lo, hi) = Vector128.Widen(Vector128.Create(row.Slice(j + 4, 4)));
                (dLo, dHi) = Vector128.Widen(Vector128.Create(dy.Slice(j + 4, 4)));
                (gLo, gHi) = Vector128.Widen(Vector128.Create(gamma.Slice(j + 4, 4)));
                gLo *= dLo;
                gHi *= dHi;
                g2 += gLo;
                g3 += gHi;
                p2 += gLo * ((lo - m) * sv);
                p3 += gHi * ((hi - m) * sv);
            }

            (gSum, pSum) = (Combine(g0, g1, g2, g3), Combine(p0, p1, p2, p3));
        }
        else
        {
            Span<double> g = stackalloc double[8], p = stackalloc double[8];
            g.Clear();
            p.Clear();
            for (; j <= features - 8; j += 8)
            {
                for (int k = 0; k < 8; k++)
                {
                    double gk = (double)gamma[j + k] * dy[j + k];
                    g[k] += gk;
                    p[k] += gk * ((row[j + k] - mu) * s);
                }
            }

            (gSum, pSum) = (Combine(g), Combine(p));
        }

        for (; j < features; j++)
        {
            double gk = (double)gamma[j] * dy[j];
            gSum += gk;
            pSum += gk * ((row[j] - mu) * s);
        }

        return (gSum / features, pSum / features);
    }

    // Σ row, in the eight running sums of the class summary.
    private static double Sum(ReadOnlySpan<float> row, KernelIsa isa)
    {
        int j = 0;
        double total;
        if (isa >= KernelIsa.Vector256)
        {
            Vector256<double> a = Vector256<double>.Zero, b = Vector256<double>.Zero;
            if (isa >= KernelIsa.Vector512)
            {
                // One register holds the eight sums: elements j..j+7, then j+8..j+15, as the 256-bit loop adds them.
                Vector512<double> sums = Vector512<double>.Zero;
                for (; j <= row.Length - 16; j += 16)
                {
                    var (lo, hi) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                    sums += lo;
                    sums += hi;
                }

                (a, b) = (sums.GetLower(), sums.GetUpper());
            }

            for (; j <= row.Length - 8; j += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create(row.Slice(j, 8)));
                a += lo;
                b += hi;
            }

            total = Combine(a, b);
        }
        else if (isa == KernelIsa.Vector128)
        {
            Vector128<double> s0 = Vector128<double>.Zero, s1 = Vector128<double>.Zero, s2 = Vector128<double>.Zero, s3 = Vector128<double>.Zero;
            for (; j <= row.Length - 8; j += 8)
            {
                var (lo, hi) = Vector128.Widen(Vector128.Create(row.Slice(j, 4)));
                s0 += lo;
                s1 += hi;
                (lo, hi) = Vector128.Widen(Vector128.Create(row.Slice(j + 4, 4)));
                s2 += lo;
                s3 += hi;
            }

            total = Combine(s0, s1, s2, s3);
        }
        else
        {
            Span<double> sums = stackalloc double[8];
            sums.Clear();
            for (; j <= row.Length - 8; j += 8)
            {
                for (int k = 0; k < 8; k++)
                {
                    sums[k] += row[j + k];
                }
            }

            total = Combine(sums);
        }

        for (; j < row.Length; j++)
        {
            total += row[j];
        }

        return total;
    }

    // Σ (row - μ)², in the eight running sums of the class summary.
    private static double SumOfSquaredDeviations(ReadOnlySpan<float> row, double mu, KernelIsa isa)
    {
        int j = 0;
        double total;
        if (isa >= KernelIsa.Vector256)
        {
            Vector256<double> a = Vector256<double>.Zero, b = Vector256<double>.Zero, m = Vector256.Create(mu);
            if (isa >= KernelIsa.Vector512)
            {
                Vector512<double> sums = Vector512<double>.Zero, m512 = Vector512.Create(mu);
                for (; j <= row.Length - 16; j += 16)
                {
                    var (lo, hi) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                    lo -= m512;
                    hi -= m512;
                    sums += lo * lo;
                    sums += hi * hi;
                }

                (a, b) = (sums.GetLower(), sums.GetUpper());
            }

            for (; j <= row.Length - 8; j += 8)
            {
                var (lo, hi) = Vector256.Widen(Vector256.Create(row.Slice(j, 8)));
                lo -= m;
                hi -= m;
                a += lo * lo;
                b += hi * hi;
            }

            total = Combine(a, b);
        }
        else if (isa == KernelIsa.Vector128)
        {
            Vector128<double> s0 = Vector128<double>.Zero, s1 = Vector128<double>.Zero, s2 = Vector128<double>.Zero, s3 = Vector128<double>.Zero;
            Vector128<double> m = Vector128.Create(mu);
            for (; j <= row.Length - 8; j += 8)
            {
                var (lo, hi) = Vector128.Widen(Vector128.Create(row.Slice(j, 4)));
                lo -= m;
                hi -= m;
                s0 += lo * lo;
                s1 += hi * hi;
                (lo, hi) = Vector128.Widen(Vector128.Create(row.Slice(j + 4, 4)));
                lo -= m;
                hi -= m;
                s2 += lo * lo;
                s3 += hi * hi;
            }

            total = Combine(s0, s1, s2, s3);
        }
        else
        {
            Span<double> sums = stackalloc double[8];
            sums.Clear();
            for (; j <= row.Length - 8; j += 8)
            {
                for (int k = 0; k < 8; k++)
                {
                    double d = row[j + k] - mu;
                    sums[k] += d * d;
                }
            }

            total = Combine(sums);
        }

        for (; j < row.Length; j++)
        {
            double d = row[j] - mu;
            total += d * d;
        }

        return total;
    }

    // The eight running sums (a: 0-3, b: 4-7) combined as ((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7)).
    private static double Combine(Vector256<double> a, Vector256<double> b)
    {
        Vector256<double> t = a + b;
        Vector128<double> u = t.GetLower() + t.GetUpper();
        return u.GetElement(0) + u.GetElement(1);
    }

    // The eight running sums in four registers (s0: 0-1, s1: 2-3, s2: 4-5, s3: 6-7), in the same order.
    private static double Combine(Vector128<double> s0, Vector128<double> s1, Vector128<double> s2, Vector128<double> s3)
    {
        Vector128<double> u = (s0 + s2) + (s1 + s3);
        return u.GetElement(0) + u.GetElement(1);
    }

    private static double Combine(ReadOnlySpan<double> s) => ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));

    private static void CheckShape(int length, int batch, int features, string name)
    {
        ThrowHelper.CheckNonNegative(batch, "batch");
        Check.Positive(features, "features");
        Check.Holds(length, batch, features, name, "batch", "features");
    }

    private static void PerFeature(int length, int features, string name) =>
        Check.Holds(length, features, 1, name, "features");
}
