using System.Numerics;
using System.Runtime.Intrinsics;

namespace NeuralCore.Kernels;

/// <summary>
/// Batch normalization over row-major <c>[batch, features]</c> activations, per feature (column): the batch's mean and
/// variance, the normalization <c>y = γ·(x - μ)·s + β</c> with <c>s = 1/√(σ² + ε)</c>, and its backward pass. All in
/// double, sums taken sample after sample, a vector of features at a time (each lane performs the scalar tail's
/// operations, no fused multiply-add; 512-bit vectors where the hardware has them, then <see cref="Vector{T}"/>), so the
/// results depend on neither the thread count nor the vector width.
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
        MomentsColumns(x, batch, features, 0, features, mean, variance);
    }

    /// <summary>
    /// <see cref="Moments"/> of features <c>[first, first + count)</c> only, into the same places of
    /// <paramref name="mean"/> and <paramref name="variance"/>: each feature's are computed alone, so any division of the
    /// features among threads gives the same bits. The caller has checked the shapes.
    /// </summary>
    internal static void MomentsColumns(ReadOnlySpan<float> x, int batch, int features, int first, int count, Span<double> mean, Span<double> variance)
    {
        mean = mean.Slice(first, count);
        variance = variance.Slice(first, count);
        mean.Clear();
        variance.Clear();
        for (int n = 0; n < batch; n++)
        {
            AddRow(x.Slice((n * features) + first, count), mean);
        }

        Divide(mean, batch);
        for (int n = 0; n < batch; n++)
        {
            AddSquaredDeviations(x.Slice((n * features) + first, count), mean, variance);
        }

        Divide(variance, batch);
    }

    // sum[j] += row[j], in double, a vector of features at a time (each lane adds what the scalar tail adds).
    private static void AddRow(ReadOnlySpan<float> row, Span<double> sum)
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j <= row.Length - 16; j += 16)
            {
                (Vector512<double> low, Vector512<double> high) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                (Vector512.Create(sum.Slice(j, 8)) + low).CopyTo(sum.Slice(j, 8));
                (Vector512.Create(sum.Slice(j + 8, 8)) + high).CopyTo(sum.Slice(j + 8, 8));
            }
        }

        for (; j <= row.Length - Vector<float>.Count; j += Vector<float>.Count)
        {
            Vector.Widen(new Vector<float>(row[j..]), out Vector<double> low, out Vector<double> high);
            (new Vector<double>(sum[j..]) + low).CopyTo(sum[j..]);
            (new Vector<double>(sum[(j + Vector<double>.Count)..]) + high).CopyTo(sum[(j + Vector<double>.Count)..]);
        }

        for (; j < row.Length; j++)
        {
            sum[j] += row[j];
        }
    }

    // variance[j] += (row[j] - mean[j])².
    private static void AddSquaredDeviations(ReadOnlySpan<float> row, ReadOnlySpan<double> mean, Span<double> variance)
    {
        int j = 0, d = Vector<double>.Count;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j <= row.Length - 16; j += 16)
            {
                (Vector512<double> low, Vector512<double> high) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                Vector512<double> a = low - Vector512.Create(mean.Slice(j, 8)), b = high - Vector512.Create(mean.Slice(j + 8, 8));
                (Vector512.Create(variance.Slice(j, 8)) + (a * a)).CopyTo(variance.Slice(j, 8));
                (Vector512.Create(variance.Slice(j + 8, 8)) + (b * b)).CopyTo(variance.Slice(j + 8, 8));
            }
        }

        for (; j <= row.Length - Vector<float>.Count; j += Vector<float>.Count)
        {
            Vector.Widen(new Vector<float>(row[j..]), out Vector<double> low, out Vector<double> high);
            Vector<double> a = low - new Vector<double>(mean[j..]), b = high - new Vector<double>(mean[(j + d)..]);
            (new Vector<double>(variance[j..]) + (a * a)).CopyTo(variance[j..]);
            (new Vector<double>(variance[(j + d)..]) + (b * b)).CopyTo(variance[(j + d)..]);
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
        NormalizeColumns(x, y, batch, features, 0, features, mean, scale, gamma, beta);
    }

    /// <summary><see cref="Normalize"/> of features <c>[first, first + count)</c> only; the caller has checked the shapes.</summary>
    internal static void NormalizeColumns(ReadOnlySpan<float> x, Span<float> y, int batch, int features, int first, int count,
        ReadOnlySpan<double> mean, ReadOnlySpan<double> scale, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta)
    {
        mean = mean.Slice(first, count);
        scale = scale.Slice(first, count);
        gamma = gamma.Slice(first, count);
        beta = beta.Slice(first, count);
        for (int n = 0; n < batch; n++)
        {
            ReadOnlySpan<float> row = x.Slice((n * features) + first, count);
            Span<float> output = y.Slice((n * features) + first, count);
            int j = 0, d = Vector<double>.Count;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; j <= count - 16; j += 16)
                {
                    (Vector512<double> low, Vector512<double> high) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                    (Vector512<double> gLow, Vector512<double> gHigh) = Vector512.Widen(Vector512.Create(gamma.Slice(j, 16)));
                    (Vector512<double> bLow, Vector512<double> bHigh) = Vector512.Widen(Vector512.Create(beta.Slice(j, 16)));
                    low = (gLow * ((low - Vector512.Create(mean.Slice(j, 8))) * Vector512.Create(scale.Slice(j, 8)))) + bLow;
                    high = (gHigh * ((high - Vector512.Create(mean.Slice(j + 8, 8))) * Vector512.Create(scale.Slice(j + 8, 8)))) + bHigh;
                    Vector512.Narrow(low, high).CopyTo(output.Slice(j, 16));
                }
            }

            for (; j <= count - Vector<float>.Count; j += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(row[j..]), out Vector<double> low, out Vector<double> high);
                Vector.Widen(new Vector<float>(gamma[j..]), out Vector<double> gLow, out Vector<double> gHigh);
                Vector.Widen(new Vector<float>(beta[j..]), out Vector<double> bLow, out Vector<double> bHigh);
                low = (gLow * ((low - new Vector<double>(mean[j..])) * new Vector<double>(scale[j..]))) + bLow;
                high = (gHigh * ((high - new Vector<double>(mean[(j + d)..])) * new Vector<double>(scale[(j + d)..]))) + bHigh;
                Vector.Narrow(low, high).CopyTo(output[j..]);
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
        BackwardColumns(x, outputGrad, inputGrad, batch, features, 0, features, mean, scale, gamma, gammaGrad, betaGrad, sums);
    }

    /// <summary>
    /// <see cref="Backward"/> of features <c>[first, first + count)</c> only (their γ and β gradients, their columns of
    /// the input gradient, and their places in <paramref name="sums"/>: the sums of dy at <c>[0, features)</c>, of dy·x̂
    /// at <c>[features, 2·features)</c>); the caller has checked the shapes.
    /// </summary>
    internal static void BackwardColumns(ReadOnlySpan<float> x, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch, int features,
        int first, int count, ReadOnlySpan<double> mean, ReadOnlySpan<double> scale, ReadOnlySpan<float> gamma, Span<float> gammaGrad,
        Span<float> betaGrad, Span<double> sums)
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
            AddRow(dy, dySum);
            int j = 0, d = Vector<double>.Count;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; j <= count - 16; j += 16)
                {
                    (Vector512<double> low, Vector512<double> high) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                    (Vector512<double> dLow, Vector512<double> dHigh) = Vector512.Widen(Vector512.Create(dy.Slice(j, 16)));
                    low = dLow * ((low - Vector512.Create(mean.Slice(j, 8))) * Vector512.Create(scale.Slice(j, 8)));
                    high = dHigh * ((high - Vector512.Create(mean.Slice(j + 8, 8))) * Vector512.Create(scale.Slice(j + 8, 8)));
                    (Vector512.Create(dyXhatSum.Slice(j, 8)) + low).CopyTo(dyXhatSum.Slice(j, 8));
                    (Vector512.Create(dyXhatSum.Slice(j + 8, 8)) + high).CopyTo(dyXhatSum.Slice(j + 8, 8));
                }
            }

            for (; j <= count - Vector<float>.Count; j += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(row[j..]), out Vector<double> low, out Vector<double> high);
                Vector.Widen(new Vector<float>(dy[j..]), out Vector<double> dLow, out Vector<double> dHigh);
                low = dLow * ((low - new Vector<double>(mean[j..])) * new Vector<double>(scale[j..]));
                high = dHigh * ((high - new Vector<double>(mean[(j + d)..])) * new Vector<double>(scale[(j + d)..]));
                (new Vector<double>(dyXhatSum[j..]) + low).CopyTo(dyXhatSum[j..]);
                (new Vector<double>(dyXhatSum[(j + d)..]) + high).CopyTo(dyXhatSum[(j + d)..]);
            }

            for (; j < count; j++)
            {
                dyXhatSum[j] += dy[j] * ((row[j] - mean[j]) * scale[j]);
            }
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
            Span<float> dx = inputGrad.Slice((n * features) + first, count);
            int j = 0, d = Vector<double>.Count;
            if (Vector512.IsHardwareAccelerated)
            {
                for (; j <= count - 16; j += 16)
                {
                    (Vector512<double> low, Vector512<double> high) = Vector512.Widen(Vector512.Create(row.Slice(j, 16)));
                    (Vector512<double> dLow, Vector512<double> dHigh) = Vector512.Widen(Vector512.Create(dy.Slice(j, 16)));
                    (Vector512<double> gLow, Vector512<double> gHigh) = Vector512.Widen(Vector512.Create(gamma.Slice(j, 16)));
                    Vector512<double> sLow = Vector512.Create(scale.Slice(j, 8)), sHigh = Vector512.Create(scale.Slice(j + 8, 8));
                    Vector512<double> xLow = (low - Vector512.Create(mean.Slice(j, 8))) * sLow, xHigh = (high - Vector512.Create(mean.Slice(j + 8, 8))) * sHigh;
                    low = gLow * sLow * (dLow - Vector512.Create(dySum.Slice(j, 8)) - (xLow * Vector512.Create(dyXhatSum.Slice(j, 8))));
                    high = gHigh * sHigh * (dHigh - Vector512.Create(dySum.Slice(j + 8, 8)) - (xHigh * Vector512.Create(dyXhatSum.Slice(j + 8, 8))));
                    Vector512.Narrow(low, high).CopyTo(dx.Slice(j, 16));
                }
            }

            for (; j <= count - Vector<float>.Count; j += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(row[j..]), out Vector<double> low, out Vector<double> high);
                Vector.Widen(new Vector<float>(dy[j..]), out Vector<double> dLow, out Vector<double> dHigh);
                Vector.Widen(new Vector<float>(gamma[j..]), out Vector<double> gLow, out Vector<double> gHigh);
                Vector<double> sLow = new(scale[j..]), sHigh = new(scale[(j + d)..]);
                Vector<double> xLow = (low - new Vector<double>(mean[j..])) * sLow, xHigh = (high - new Vector<double>(mean[(j + d)..])) * sHigh;
                low = gLow * sLow * (dLow - new Vector<double>(dySum[j..]) - (xLow * new Vector<double>(dyXhatSum[j..])));
                high = gHigh * sHigh * (dHigh - new Vector<double>(dySum[(j + d)..]) - (xHigh * new Vector<double>(dyXhatSum[(j + d)..])));
                Vector.Narrow(low, high).CopyTo(dx[j..]);
            }

            for (; j < count; j++)
            {
                double xhat = (row[j] - mean[j]) * scale[j];
                dx[j] = (float)(gamma[j] * scale[j] * (dy[j] - dySum[j] - (xhat * dyXhatSum[j])));
            }
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
