using System.Runtime.Intrinsics;

namespace NeuralCore.Kernels;

/// <summary>
/// Batch normalization over row-major <c>[batch, features]</c> activations, per feature (column): the batch's mean and
/// variance, the normalization <c>y = γ·(x - μ)·s + β</c> with <c>s = 1/√(σ² + ε)</c>, and its backward pass. All in
/// double, sums taken sample after sample, a vector of features at a time (each lane performs the scalar tail's
/// operations, no fused multiply-add; 512-, 256- and 128-bit vectors, the widest the process accelerates first), so
/// the results depend on neither the thread count nor the vector width.
/// </summary>
public static class BatchNormKernels
{
    /// <summary>
    /// The mean <c>μ = Σx/N</c> and the biased variance <c>σ² = Σ(x - μ)²/N</c> of each feature over the batch (two
    /// passes, in double: one pass of Σx² - Nμ² cancels when the mean is large against the spread).
    /// </summary>
    /// <param name="x">The <c>[batch, features]</c> activations.</param>
    /// <param name="batch">N, positive.</param>
    /// <param name="features">The number of features.</param>
    /// <param name="mean">μ, <paramref name="features"/> values, overwritten.</param>
    /// <param name="variance">σ², <paramref name="features"/> values, overwritten.</param>
    /// <exception cref="ArgumentException">A span does not hold its shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> or <paramref name="features"/> is not positive.</exception>
    public static void Moments(ReadOnlySpan<float> x, int batch, int features, Span<double> mean, Span<double> variance)
    {
        Check.Positive(batch, nameof(batch));
        CheckShape(x.Length, batch, features, nameof(x));
        PerFeature(mean.Length, features, nameof(mean), "doubles");
        PerFeature(variance.Length, features, nameof(variance), "doubles");
        MomentsColumns(x, batch, features, 0, features, mean, variance, KernelIsaSupport.Widest);
    }

    /// <summary>
    /// <see cref="Moments"/> of features <c>[first, first + count)</c> only, into the same places of
    /// <paramref name="mean"/> and <paramref name="variance"/>, with vectors no wider than <paramref name="isa"/> (which
    /// the caller has checked is supported): each feature's are computed alone, so any division of the features among
    /// threads, and any width, gives the same bits. The caller has checked the shapes.
    /// </summary>
    internal static void MomentsColumns(ReadOnlySpan<float> x, int batch, int features, int first, int count, Span<double> mean, Span<double> variance,
        KernelIsa isa)
    {
        mean = mean.Slice(first, count);
        variance = variance.Slice(first, count);
        mean.Clear();
        variance.Clear();
        for (int n = 0; n < batch; n++)
        {
            AddRow(x.Slice((n * features) + first, count), mean, isa);
        }

        Divide(mean, batch);
        for (int n = 0; n < batch; n++)
        {
            AddSquaredDeviations(x.Slice((n * features) + first, count), mean, variance, isa);
        }

        Divide(variance, batch);
    }

    // sum[j] += row[j], in double, a vector of features at a time (each lane adds what the scalar tail adds).
    private static void AddRow(ReadOnlySpan<float> row, Span<double> sum, KernelIsa isa)
    {
        int j = 0;
        if (isa >= KernelIsa.Vector512)
        {
            for (; j <= row.Length - 16; j += 16)
            {
                var (low, high) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                (Vector512.Create(sum.Slice(j, 8)) + low).CopyTo(sum.Slice(j, 8));
                (Vector512.Create(sum.Slice(j + 8, 8)) + high).CopyTo(sum.Slice(j + 8, 8));
            }
        }

        if (isa >= KernelIsa.Vector256)
        {
            for (; j <= row.Length - 8; j += 8)
            {
                var (low, high) = Vector256.Widen(Vector256.Create(row.Slice(j, 8)));
                (Vector256.Create(sum.Slice(j, 4)) + low).CopyTo(sum.Slice(j, 4));
                (Vector256.Create(sum.Slice(j + 4, 4)) + high).CopyTo(sum.Slice(j + 4, 4));
            }
        }

        if (isa >= KernelIsa.Vector128)
        {
            for (; j <= row.Length - 4; j += 4)
            {
                var (low, high) = Vector128.Widen(Vector128.Create(row.Slice(j, 4)));
                (Vector128.Create(sum.Slice(j, 2)) + low).CopyTo(sum.Slice(j, 2));
                (Vector128.Create(sum.Slice(j + 2, 2)) + high).CopyTo(sum.Slice(j + 2, 2));
            }
        }

        for (; j < row.Length; j++)
        {
            sum[j] += row[j];
        }
    }

    // variance[j] += (row[j] - mean[j])².
    private static void AddSquaredDeviations(ReadOnlySpan<float> row, ReadOnlySpan<double> mean, Span<double> variance, KernelIsa isa)
    {
        int j = 0;
        if (isa >= KernelIsa.Vector512)
        {
            for (; j <= row.Length - 16; j += 16)
            {
                var (low, high) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                Vector512<double> a = low - Vector512.Create(mean.Slice(j, 8)), b = high - Vector512.Create(mean.Slice(j + 8, 8));
                (Vector512.Create(variance.Slice(j, 8)) + (a * a)).CopyTo(variance.Slice(j, 8));
                (Vector512.Create(variance.Slice(j + 8, 8)) + (b * b)).CopyTo(variance.Slice(j + 8, 8));
            }
        }

        if (isa >= KernelIsa.Vector256)
        {
            for (; j <= row.Length - 8; j += 8)
            {
                var (low, high) = Vector256.Widen(Vector256.Create(row.Slice(j, 8)));
                Vector256<double> a = low - Vector256.Create(mean.Slice(j, 4)), b = high - Vector256.Create(mean.Slice(j + 4, 4));
                (Vector256.Create(variance.Slice(j, 4)) + (a * a)).CopyTo(variance.Slice(j, 4));
                (Vector256.Create(variance.Slice(j + 4, 4)) + (b * b)).CopyTo(variance.Slice(j + 4, 4));
            }
        }

        if (isa >= KernelIsa.Vector128)
        {
            for (; j <= row.Length - 4; j += 4)
            {
                var (low, high) = Vector128.Widen(Vector128.Create(row.Slice(j, 4)));
                Vector128<double> a = low - Vector128.Create(mean.Slice(j, 2)), b = high - Vector128.Create(mean.Slice(j + 2, 2));
                (Vector128.Create(variance.Slice(j, 2)) + (a * a)).CopyTo(variance.Slice(j, 2));
                (Vector128.Create(variance.Slice(j + 2, 2)) + (b * b)).CopyTo(variance.Slice(j + 2, 2));
            }
        }

        for (; j < row.Length; j++)
        {
            double a = row[j] - mean[j];
            variance[j] += a * a;
        }
    }

    // values[j] / divisor: a division, as the mean is defined (a product by 1/N rounds differently for N not a power of two).
    private static void Divide(Span<double> values, int divisor)
    {
        for (int j = 0; j < values.Length; j++)
        {
            values[j] /= divisor;
        }
    }

    /// <summary><c>y = γ·(x - μ)·s + β</c> per feature, in double, each result rounded once.</summary>
    /// <param name="x">The <c>[batch, features]</c> activations.</param>
    /// <param name="y">The <c>[batch, features]</c> output; may be <paramref name="x"/> itself.</param>
    /// <param name="batch">N.</param>
    /// <param name="features">The number of features.</param>
    /// <param name="mean">μ per feature.</param>
    /// <param name="scale">s per feature, <c>1/√(σ² + ε)</c>.</param>
    /// <param name="gamma">γ per feature.</param>
    /// <param name="beta">β per feature.</param>
    /// <exception cref="ArgumentException">A span does not hold its shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> is negative or <paramref name="features"/> is not positive.</exception>
    public static void Normalize(ReadOnlySpan<float> x, Span<float> y, int batch, int features,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> scale, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta)
    {
        CheckShape(x.Length, batch, features, nameof(x));
        CheckShape(y.Length, batch, features, nameof(y));
        PerFeature(mean.Length, features, nameof(mean), "doubles");
        PerFeature(scale.Length, features, nameof(scale), "doubles");
        PerFeature(gamma.Length, features, nameof(gamma));
        PerFeature(beta.Length, features, nameof(beta));
        NormalizeColumns(x, y, batch, features, 0, features, mean, scale, gamma, beta, KernelIsaSupport.Widest);
    }

    /// <summary>
    /// <see cref="Normalize"/> of features <c>[first, first + count)</c> only, with vectors no wider than
    /// <paramref name="isa"/>; the caller has checked the shapes and that <paramref name="isa"/> is supported.
    /// </summary>
    internal static void NormalizeColumns(ReadOnlySpan<float> x, Span<float> y, int batch, int features, int first, int count,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> scale, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, KernelIsa isa)
    {
        mean = mean.Slice(first, count);
        scale = scale.Slice(first, count);
        gamma = gamma.Slice(first, count);
        beta = beta.Slice(first, count);
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> row = x.Slice((n * features) + first, count);
            Span<float> output = y.Slice((n * features) + first, count);
            int j = 0;
            if (isa >= KernelIsa.Vector512)
            {
                for (; j <= count - 16; j += 16)
                {
                    var (low, high) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                    var (gLow, gHigh) = Vector512.Widen(Vector512.Create(gamma.Slice(j, 16)));
                    var (bLow, bHigh) = Vector512.Widen(Vector512.Create(beta.Slice(j, 16)));
                    low = (gLow * ((low - Vector512.Create(mean.Slice(j, 8))) * Vector512.Create(scale.Slice(j, 8)))) + bLow;
                    high = (gHigh * ((high - Vector512.Create(mean.Slice(j + 8, 8))) * Vector512.Create(scale.Slice(j + 8, 8)))) + bHigh;
                    Vector512.Narrow(low, high).CopyTo(output.Slice(j, 16));
                }
            }

            if (isa >= KernelIsa.Vector256)
            {
                for (; j <= count - 8; j += 8)
                {
                    var (low, high) = Vector256.Widen(Vector256.Create(row.Slice(j, 8)));
                    var (gLow, gHigh) = Vector256.Widen(Vector256.Create(gamma.Slice(j, 8)));
                    var (bLow, bHigh) = Vector256.Widen(Vector256.Create(beta.Slice(j, 8)));
                    low = (gLow * ((low - Vector256.Create(mean.Slice(j, 4))) * Vector256.Create(scale.Slice(j, 4)))) + bLow;
                    high = (gHigh * ((high - Vector256.Create(mean.Slice(j + 4, 4))) * Vector256.Create(scale.Slice(j + 4, 4)))) + bHigh;
                    Vector256.Narrow(low, high).CopyTo(output.Slice(j, 8));
                }
            }

            if (isa >= KernelIsa.Vector128)
            {
                for (; j <= count - 4; j += 4)
                {
                    var (low, high) = Vector128.Widen(Vector128.Create(row.Slice(j, 4)));
                    var (gLow, gHigh) = Vector128.Widen(Vector128.Create(gamma.Slice(j, 4)));
                    var (bLow, bHigh) = Vector128.Widen(Vector128.Create(beta.Slice(j, 4)));
                    low = (gLow * ((low - Vector128.Create(mean.Slice(j, 2))) * Vector128.Create(scale.Slice(j, 2)))) + bLow;
                    high = (gHigh * ((high - Vector128.Create(mean.Slice(j + 2, 2))) * Vector128.Create(scale.Slice(j + 2, 2)))) + bHigh;
                    Vector128.Narrow(low, high).CopyTo(output.Slice(j, 4));
                }
            }

            for (; j < count; j++)
            {
                output[j] = (float)((gamma[j] * ((row[j] - mean[j]) * scale[j])) + beta[j]);
            }
        }
    }

    /// <summary>
    /// The backward pass of a training-mode normalization (μ and σ² from the same batch): with <c>x̂ = (x - μ)·s</c>,
    /// adds <c>Σ dy·x̂</c> to <paramref name="gammaGrad"/> and <c>Σ dy</c> to <paramref name="betaGrad"/>, and, unless
    /// <paramref name="inputGrad"/> is empty, writes <c>dx = γ·s·(dy - Σdy/N - x̂·Σ(dy·x̂)/N)</c>.
    /// </summary>
    /// <param name="x">The forward input.</param>
    /// <param name="outputGrad">dy, <c>[batch, features]</c>.</param>
    /// <param name="inputGrad">dx, <c>[batch, features]</c>, overwritten; or empty.</param>
    /// <param name="batch">N, positive.</param>
    /// <param name="features">The number of features.</param>
    /// <param name="mean">The forward's μ.</param>
    /// <param name="scale">The forward's s.</param>
    /// <param name="gamma">γ.</param>
    /// <param name="gammaGrad">∂L/∂γ, added to.</param>
    /// <param name="betaGrad">∂L/∂β, added to.</param>
    /// <param name="sums">Scratch of <c>2·features</c> doubles, overwritten.</param>
    /// <exception cref="ArgumentException">A span does not hold its shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="batch"/> or <paramref name="features"/> is not positive.</exception>
    public static void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch, int features,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> scale, ReadOnlySpan<float> gamma, Span<float> gammaGrad, Span<float> betaGrad, Span<double> sums)
    {
        CheckShape(x.Length, batch, features, nameof(x));
        CheckShape(outputGrad.Length, batch, features, nameof(outputGrad));
        if (!inputGrad.IsEmpty)
        {
            CheckShape(inputGrad.Length, batch, features, nameof(inputGrad));
        }

        PerFeature(mean.Length, features, nameof(mean), "doubles");
        PerFeature(scale.Length, features, nameof(scale), "doubles");
        PerFeature(gamma.Length, features, nameof(gamma));
        PerFeature(gammaGrad.Length, features, nameof(gammaGrad));
        PerFeature(betaGrad.Length, features, nameof(betaGrad));
        Check.Holds(sums.Length, 2L * features, 1, nameof(sums), "2·features", unit: "doubles");
        BackwardColumns(x, outputGrad, inputGrad, batch, features, 0, features, mean, scale, gamma, gammaGrad, betaGrad, sums, KernelIsaSupport.Widest);
    }

    /// <summary>
    /// <see cref="Backward"/> of features <c>[first, first + count)</c> only (their γ and β gradients, their columns of
    /// the input gradient, and their places in <paramref name="sums"/>: the sums of dy at <c>[0, features)</c>, of dy·x̂
    /// at <c>[features, 2·features)</c>), with vectors no wider than <paramref name="isa"/>; the caller has checked the
    /// shapes and that <paramref name="isa"/> is supported.
    /// </summary>
    internal static void BackwardColumns(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch, int features,
        int first, int count, ReadOnlySpan<double> mean, ReadOnlySpan<double> scale, ReadOnlySpan<float> gamma, Span<float> gammaGrad,
        Span<float> betaGrad, Span<double> sums, KernelIsa isa)
    {
        Span<double> dySum = sums.Slice(first, count), dyXhatSum = sums.Slice(features + first, count);
        mean = mean.Slice(first, count);
        scale = scale.Slice(first, count);
        gamma = gamma.Slice(first, count);
        gammaGrad = gammaGrad.Slice(first, count);
        betaGrad = betaGrad.Slice(first, count);
        dySum.Clear();
        dyXhatSum.Clear();
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> row = x.Slice((n * features) + first, count), dy = outputGrad.Slice((n * features) + first, count);
            AddRow(dy, dySum, isa);
            AddProducts(row, dy, mean, scale, dyXhatSum, isa);
        }

        for (int j = 0; j < count; j++)
        {
            gammaGrad[j] += (float)dyXhatSum[j];
            betaGrad[j] += (float)dySum[j];
        }

        if (inputGrad.IsEmpty)
        {
            return;
        }

        // The means of dy and of dy·x̂, once per feature (the sums are not needed after this).
        Divide(dySum, batch);
        Divide(dyXhatSum, batch);
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> row = x.Slice((n * features) + first, count), dy = outputGrad.Slice((n * features) + first, count);
            InputGradientRow(row, dy, mean, scale, gamma, dySum, dyXhatSum, inputGrad.Slice((n * features) + first, count), isa);
        }
    }

    // sum[j] += dy[j]·x̂[j], x̂ = (x - μ)·s.
    private static void AddProducts(ReadOnlySpan<float> row, ReadOnlySpan<float> dy, ReadOnlySpan<double> mean, ReadOnlySpan<double> scale,
        Span<double> sum, KernelIsa isa)
    {
        int j = 0, count = row.Length;
        if (isa >= KernelIsa.Vector512)
        {
            for (; j <= count - 16; j += 16)
            {
                var (low, high) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                var (dLow, dHigh) = Vector512.Widen(Vector512.Create(dy.Slice(j, 16)));
                low = dLow * ((low - Vector512.Create(mean.Slice(j, 8))) * Vector512.Create(scale.Slice(j, 8)));
                high = dHigh * ((high - Vector512.Create(mean.Slice(j + 8, 8))) * Vector512.Create(scale.Slice(j + 8, 8)));
                (Vector512.Create(sum.Slice(j, 8)) + low).CopyTo(sum.Slice(j, 8));
                (Vector512.Create(sum.Slice(j + 8, 8)) + high).CopyTo(sum.Slice(j + 8, 8));
            }
        }

        if (isa >= KernelIsa.Vector256)
        {
            for (; j <= count - 8; j += 8)
            {
                var (low, high) = Vector256.Widen(Vector256.Create(row.Slice(j, 8)));
                var (dLow, dHigh) = Vector256.Widen(Vector256.Create(dy.Slice(j, 8)));
                low = dLow * ((low - Vector256.Create(mean.Slice(j, 4))) * Vector256.Create(scale.Slice(j, 4)));
                high = dHigh * ((high - Vector256.Create(mean.Slice(j + 4, 4))) * Vector256.Create(scale.Slice(j + 4, 4)));
                (Vector256.Create(sum.Slice(j, 4)) + low).CopyTo(sum.Slice(j, 4));
                (Vector256.Create(sum.Slice(j + 4, 4)) + high).CopyTo(sum.Slice(j + 4, 4));
            }
        }

        if (isa >= KernelIsa.Vector128)
        {
            for (; j <= count - 4; j += 4)
            {
                var (low, high) = Vector128.Widen(Vector128.Create(row.Slice(j, 4)));
                var (dLow, dHigh) = Vector128.Widen(Vector128.Create(dy.Slice(j, 4)));
                low = dLow * ((low - Vector128.Create(mean.Slice(j, 2))) * Vector128.Create(scale.Slice(j, 2)));
                high = dHigh * ((high - Vector128.Create(mean.Slice(j + 2, 2))) * Vector128.Create(scale.Slice(j + 2, 2)));
                (Vector128.Create(sum.Slice(j, 2)) + low).CopyTo(sum.Slice(j, 2));
                (Vector128.Create(sum.Slice(j + 2, 2)) + high).CopyTo(sum.Slice(j + 2, 2));
            }
        }

        for (; j < count; j++)
        {
            sum[j] += dy[j] * ((row[j] - mean[j]) * scale[j]);
        }
    }

    // dx[j] = γ·s·(dy - mean dy - x̂·mean(dy·x̂)), from the two means.
    private static void InputGradientRow(ReadOnlySpan<float> row, ReadOnlySpan<float> dy, ReadOnlySpan<double> mean, ReadOnlySpan<double> scale,
        ReadOnlySpan<float> gamma, ReadOnlySpan<double> dyMean, ReadOnlySpan<double> dyXhatMean, Span<float> dx, KernelIsa isa)
    {
        int j = 0, count = row.Length;
        if (isa >= KernelIsa.Vector512)
        {
            for (; j <= count - 16; j += 16)
            {
                var (low, high) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                var (dLow, dHigh) = Vector512.Widen(Vector512.Create(dy.Slice(j, 16)));
                var (gLow, gHigh) = Vector512.Widen(Vector512.Create(gamma.Slice(j, 16)));
                Vector512<double> sLow = Vector512.Create(scale.Slice(j, 8)), sHigh = Vector512.Create(scale.Slice(j + 8, 8));
                Vector512<double> xLow = (low - Vector512.Create(mean.Slice(j, 8))) * sLow, xHigh = (high - Vector512.Create(mean.Slice(j + 8, 8))) * sHigh;
                low = gLow * sLow * (dLow - Vector512.Create(dyMean.Slice(j, 8)) - (xLow * Vector512.Create(dyXhatMean.Slice(j, 8))));
                high = gHigh * sHigh * (dHigh - Vector512.Create(dyMean.Slice(j + 8, 8)) - (xHigh * Vector512.Create(dyXhatMean.Slice(j + 8, 8))));
                Vector512.Narrow(low, high).CopyTo(dx.Slice(j, 16));
            }
        }

        if (isa >= KernelIsa.Vector256)
        {
            for (; j <= count - 8; j += 8)
            {
                var (low, high) = Vector256.Widen(Vector256.Create(row.Slice(j, 8)));
                var (dLow, dHigh) = Vector256.Widen(Vector256.Create(dy.Slice(j, 8)));
                var (gLow, gHigh) = Vector256.Widen(Vector256.Create(gamma.Slice(j, 8)));
                Vector256<double> sLow = Vector256.Create(scale.Slice(j, 4)), sHigh = Vector256.Create(scale.Slice(j + 4, 4));
                Vector256<double> xLow = (low - Vector256.Create(mean.Slice(j, 4))) * sLow, xHigh = (high - Vector256.Create(mean.Slice(j + 4, 4))) * sHigh;
                low = gLow * sLow * (dLow - Vector256.Create(dyMean.Slice(j, 4)) - (xLow * Vector256.Create(dyXhatMean.Slice(j, 4))));
                high = gHigh * sHigh * (dHigh - Vector256.Create(dyMean.Slice(j + 4, 4)) - (xHigh * Vector256.Create(dyXhatMean.Slice(j + 4, 4))));
                Vector256.Narrow(low, high).CopyTo(dx.Slice(j, 8));
            }
        }

        if (isa >= KernelIsa.Vector128)
        {
            for (; j <= count - 4; j += 4)
            {
                var (low, high) = Vector128.Widen(Vector128.Create(row.Slice(j, 4)));
                var (dLow, dHigh) = Vector128.Widen(Vector128.Create(dy.Slice(j, 4)));
                var (gLow, gHigh) = Vector128.Widen(Vector128.Create(gamma.Slice(j, 4)));
                Vector128<double> sLow = Vector128.Create(scale.Slice(j, 2)), sHigh = Vector128.Create(scale.Slice(j + 2, 2));
                Vector128<double> xLow = (low - Vector128.Create(mean.Slice(j, 2))) * sLow, xHigh = (high - Vector128.Create(mean.Slice(j + 2, 2))) * sHigh;
                low = gLow * sLow * (dLow - Vector128.Create(dyMean.Slice(j, 2)) - (xLow * Vector128.Create(dyXhatMean.Slice(j, 2))));
                high = gHigh * sHigh * (dHigh - Vector128.Create(dyMean.Slice(j + 2, 2)) - (xHigh * Vector128.Create(dyXhatMean.Slice(j + 2, 2))));
                Vector128.Narrow(low, high).CopyTo(dx.Slice(j, 4));
            }
        }

        for (; j < count; j++)
        {
            double xhat = (row[j] - mean[j]) * scale[j];
            dx[j] = (float)(gamma[j] * scale[j] * (dy[j] - dyMean[j] - (xhat * dyXhatMean[j])));
        }
    }

    private static void CheckShape(int length, int batch, int features, string name)
    {
        ThrowHelper.CheckNonNegative(batch, "batch");
        Check.Positive(features, "features");
        Check.Holds(length, batch, features, name, "batch", "features");
    }

    private static void PerFeature(int length, int features, string name, string unit = "floats") =>
        Check.Holds(length, features, 1, name, "features", unit: unit);
}
