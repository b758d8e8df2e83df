using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// Every instruction-set path of the batch- and layer-normalization kernels, selected in-process as the element-wise
/// kernels' are, against a scalar reference written here in double with the kernels' order of operations, bit for bit:
/// each vector lane performs the scalar operations (no fused multiply-add), and a row's sums keep the same eight running
/// sums at every width, so nothing but the bits is a fair test. Feature counts 1..256 (0 is refused) and a few longer
/// odd ones, so that each width meets every tail; several batch sizes; the whole of the features and a slice of them,
/// as the layers divide them among threads.
/// </summary>
public class NormalizationIsaTests
{
    private static readonly int[] FeatureList = [.. Enumerable.Range(1, 256), 509, 1021];

    private static readonly int[] Batches = [1, 2, 3, 8];

    // By name: the enum is internal, and a theory's parameters must be public types.
    public static TheoryData<string> Paths() => [.. KernelIsaSupport.Supported.Select(isa => isa.ToString())];

    [Theory]
    [MemberData(nameof(Paths))]
    public void Batch_normalization_is_the_scalar_reference_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        foreach (int features in FeatureList)
        {
            foreach (int batch in Batches)
            {
                (float[] x, float[] dy, float[] gamma, float[] beta) = Inputs(batch, features);
                foreach ((int first, int count) in Slices(features))
                {
                    string where = $"{isa}, batch {batch}, features {features}, columns [{first}, {first + count})";
                    double[] mean = new double[features], variance = new double[features];
                    BatchNormKernels.MomentsColumns(x, batch, features, first, count, mean, variance, isa);
                    (double[] expectedMean, double[] expectedVariance) = BatchMoments(x, batch, features);
                    AssertBits(expectedMean.AsSpan(first, count), mean.AsSpan(first, count), where + ": mean");
                    AssertBits(expectedVariance.AsSpan(first, count), variance.AsSpan(first, count), where + ": variance");

                    double[] scale = [.. expectedVariance.Select(v => 1 / Math.Sqrt(v + 1e-3))];
                    float[] y = new float[batch * features];
                    BatchNormKernels.NormalizeColumns(x, y, batch, features, first, count, expectedMean, scale, gamma, beta, isa);
                    float[] expectedY = new float[batch * features];
                    for (int n = 0; n < batch; n++)
                    {
                        for (int j = first; j < first + count; j++)
                        {
                            int i = (n * features) + j;
                            expectedY[i] = (float)((gamma[j] * ((x[i] - expectedMean[j]) * scale[j])) + beta[j]);
                        }
                    }

                    AssertBits(expectedY, y, where + ": output");

                    // Accumulated into, so start from values of their own.
                    float[] gammaGrad = Seeded.Uniform(features, 7), betaGrad = Seeded.Uniform(features, 8);
                    float[] expectedGammaGrad = (float[])gammaGrad.Clone(), expectedBetaGrad = (float[])betaGrad.Clone();
                    float[] dx = new float[batch * features], expectedDx = new float[batch * features];
                    double[] sums = new double[2 * features], expectedSums = new double[2 * features];
                    BatchNormKernels.BackwardColumns(x, dy, dx, batch, features, first, count, expectedMean, scale, gamma, gammaGrad, betaGrad, sums, isa);
                    for (int j = first; j < first + count; j++)
                    {
                        double dySum = 0, dyXhatSum = 0;
                        for (int n = 0; n < batch; n++)
                        {
                            int i = (n * features) + j;
                            dySum += dy[i];
                            dyXhatSum += dy[i] * ((x[i] - expectedMean[j]) * scale[j]);
                        }

                        expectedGammaGrad[j] += (float)dyXhatSum;
                        expectedBetaGrad[j] += (float)dySum;
                        (double dyMean, double dyXhatMean) = (dySum / batch, dyXhatSum / batch);
                        (expectedSums[j], expectedSums[features + j]) = (dyMean, dyXhatMean);
                        for (int n = 0; n < batch; n++)
                        {
                            int i = (n * features) + j;
                            double xhat = (x[i] - expectedMean[j]) * scale[j];
                            expectedDx[i] = (float)(gamma[j] * scale[j] * (dy[i] - dyMean - (xhat * dyXhatMean)));
                        }
                    }

                    AssertBits(expectedGammaGrad, gammaGrad, where + ": γ gradient");
                    AssertBits(expectedBetaGrad, betaGrad, where + ": β gradient");
                    AssertBits(expectedDx, dx, where + ": input gradient");

                    // The means the input gradient used, in double: a change that the float outputs round away (a fused
                    // multiply-add in the sums) still shows here.
                    AssertBits(expectedSums, sums, where + ": means of dy and dy·x̂");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Layer_normalization_is_the_scalar_reference_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        const float epsilon = 1e-3f;
        foreach (int features in FeatureList)
        {
            foreach (int batch in Batches)
            {
                (float[] x, float[] dy, float[] gamma, float[] beta) = Inputs(batch, features);
                string where = $"{isa}, batch {batch}, features {features}";
                double[] expectedMean = new double[batch], expectedScale = new double[batch];
                float[] expectedY = new float[batch * features], expectedDx = new float[batch * features];
                for (int n = 0; n < batch; n++)
                {
                    int row = n * features;
                    double mu = EightSums(features, j => x[row + j]) / features;
                    double s = 1 / Math.Sqrt((EightSums(features, j => (x[row + j] - mu) * (x[row + j] - mu)) / features) + epsilon);
                    (expectedMean[n], expectedScale[n]) = (mu, s);
                    for (int j = 0; j < features; j++)
                    {
                        expectedY[row + j] = (float)((gamma[j] * ((x[row + j] - mu) * s)) + beta[j]);
                    }

                    double gMean = EightSums(features, j => (double)gamma[j] * dy[row + j]) / features;
                    double gxMean = EightSums(features, j => (double)gamma[j] * dy[row + j] * ((x[row + j] - mu) * s)) / features;
                    for (int j = 0; j < features; j++)
                    {
                        expectedDx[row + j] = (float)(s * (((double)dy[row + j] * gamma[j]) - gMean - (((x[row + j] - mu) * s) * gxMean)));
                    }
                }

                // Rows a thread's slice at a time: [0, batch/2) then the rest.
                double[] mean = new double[batch], scale = new double[batch];
                float[] y = new float[batch * features], dx = new float[batch * features];
                foreach ((int row0, int row1) in new[] { (0, batch / 2), (batch / 2, batch) })
                {
                    LayerNormKernels.ForwardRows(x, y, features, row0, row1, gamma, beta, epsilon, mean, scale, isa);
                    LayerNormKernels.InputGradientRows(x, dy, dx, features, row0, row1, expectedMean, expectedScale, gamma, isa);
                }

                AssertBits(expectedMean, mean, where + ": mean");
                AssertBits(expectedScale, scale, where + ": scale");
                AssertBits(expectedY, y, where + ": output");
                AssertBits(expectedDx, dx, where + ": input gradient");

                foreach ((int first, int count) in Slices(features))
                {
                    float[] gammaGrad = Seeded.Uniform(features, 7), betaGrad = Seeded.Uniform(features, 8);
                    float[] expectedGammaGrad = (float[])gammaGrad.Clone(), expectedBetaGrad = (float[])betaGrad.Clone();
                    double[] sums = new double[2 * features], expectedSums = new double[2 * features];
                    LayerNormKernels.ParameterGradientColumns(x, dy, batch, features, first, first + count, expectedMean, expectedScale, gammaGrad, betaGrad,
                        sums, isa);
                    for (int j = first; j < first + count; j++)
                    {
                        double dySum = 0, dyXhatSum = 0;
                        for (int n = 0; n < batch; n++)
                        {
                            int i = (n * features) + j;
                            dySum += dy[i];
                            dyXhatSum += dy[i] * ((x[i] - expectedMean[n]) * expectedScale[n]);
                        }

                        expectedGammaGrad[j] += (float)dyXhatSum;
                        expectedBetaGrad[j] += (float)dySum;
                        (expectedSums[j], expectedSums[features + j]) = (dySum, dyXhatSum);
                    }

                    string columns = $"{where}, columns [{first}, {first + count})";
                    AssertBits(expectedGammaGrad, gammaGrad, columns + ": γ gradient");
                    AssertBits(expectedBetaGrad, betaGrad, columns + ": β gradient");
                    AssertBits(expectedSums, sums, columns + ": sums of dy and dy·x̂, in double");
                }
            }
        }
    }

    [Fact]
    public void The_public_entries_run_the_widest_path()
    {
        // What the layers call: the same bits as the widest path selected by hand (checked above against the reference).
        const int batch = 5, features = 77;
        (float[] x, float[] dy, float[] gamma, float[] beta) = Inputs(batch, features);
        KernelIsa widest = KernelIsaSupport.Widest;

        double[] mean = new double[features], variance = new double[features], wideMean = new double[features], wideVariance = new double[features];
        BatchNormKernels.Moments(x, batch, features, mean, variance);
        BatchNormKernels.MomentsColumns(x, batch, features, 0, features, wideMean, wideVariance, widest);
        AssertBits(wideMean, mean, "batch normalization mean");
        AssertBits(wideVariance, variance, "batch normalization variance");

        double[] rowMean = new double[batch], rowScale = new double[batch], wideRowMean = new double[batch], wideRowScale = new double[batch];
        float[] y = new float[batch * features], wideY = new float[batch * features];
        LayerNormKernels.Forward(x, y, batch, features, gamma, beta, 1e-3f, rowMean, rowScale);
        LayerNormKernels.ForwardRows(x, wideY, features, 0, batch, gamma, beta, 1e-3f, wideRowMean, wideRowScale, widest);
        AssertBits(wideY, y, "layer normalization output");

        float[] dx = new float[batch * features], wideDx = new float[batch * features];
        float[] gammaGrad = new float[features], betaGrad = new float[features], wideGammaGrad = new float[features], wideBetaGrad = new float[features];
        LayerNormKernels.Backward(x, dy, dx, batch, features, rowMean, rowScale, gamma, gammaGrad, betaGrad, new double[2 * features]);
        LayerNormKernels.ParameterGradientColumns(x, dy, batch, features, 0, features, rowMean, rowScale, wideGammaGrad, wideBetaGrad,
            new double[2 * features], widest);
        LayerNormKernels.InputGradientRows(x, dy, wideDx, features, 0, batch, rowMean, rowScale, gamma, widest);
        AssertBits(wideDx, dx, "layer normalization input gradient");
        AssertBits(wideGammaGrad, gammaGrad, "layer normalization γ gradient");
        AssertBits(wideBetaGrad, betaGrad, "layer normalization β gradient");
    }

    /// <summary>
    /// Σ term(j) as the layer-normalization kernels sum a row: element j into running sum <c>j mod 8</c> up to the last
    /// whole group of eight, the sums combined as <c>((s0 + s4) + (s2 + s6)) + ((s1 + s5) + (s3 + s7))</c>, then the
    /// remaining elements one by one.
    /// </summary>
    private static double EightSums(int length, Func<int, double> term)
    {
        double[] s = new double[8];
        int whole = length - (length % 8);
        for (int j = 0; j < whole; j++)
        {
            s[j % 8] += term(j);
        }

        double total = ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
        for (int j = whole; j < length; j++)
        {
            total += term(j);
        }

        return total;
    }

    private static (double[] Mean, double[] Variance) BatchMoments(float[] x, int batch, int features)
    {
        double[] mean = new double[features], variance = new double[features];
        for (int j = 0; j < features; j++)
        {
            for (int n = 0; n < batch; n++)
            {
                mean[j] += x[(n * features) + j];
            }

            mean[j] /= batch;
            for (int n = 0; n < batch; n++)
            {
                double a = x[(n * features) + j] - mean[j];
                variance[j] += a * a;
            }

            variance[j] /= batch;
        }

        return (mean, variance);
    }

    /// <summary>
    /// Activations whose mean is large against their spread (where the two-pass variance matters), with exact zeros and
    /// negative scales among the γ, and upstream gradients of both signs.
    /// </summary>
    private static (float[] X, float[] Dy, float[] Gamma, float[] Beta) Inputs(int batch, int features)
    {
        int seed = (batch * 1000) + features;
        float[] x = [.. Seeded.Uniform(batch * features, seed, 2f).Select(v => v + 3f)];
        float[] dy = Seeded.Uniform(batch * features, seed + 1);
        float[] gamma = Seeded.Uniform(features, seed + 2, 1.5f), beta = Seeded.Uniform(features, seed + 3, 0.5f);
        for (int j = 0; j < features; j += 7)
        {
            gamma[j] = 0f;
        }

        return (x, dy, gamma, beta);
    }

    /// <summary>All the features, and a slice from an odd offset that ends before the last (a thread's share).</summary>
    private static IEnumerable<(int First, int Count)> Slices(int features)
    {
        yield return (0, features);
        if (features > 2)
        {
            int first = (features / 3) | 1;
            yield return (first, features - first - 1);
        }
    }

    private static void AssertBits(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.DoubleToInt64Bits(expected[i]) != BitConverter.DoubleToInt64Bits(actual[i]))
            {
                Assert.Fail($"{what}: element {i} is {actual[i]:R} where the scalar reference gives {expected[i]:R}");
            }
        }
    }

    private static void AssertBits(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{what}: element {i} is {actual[i]:R} where the scalar reference gives {expected[i]:R}");
            }
        }
    }
}
