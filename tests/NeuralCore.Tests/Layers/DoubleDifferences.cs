namespace NeuralCore.Tests.Layers;

/// <summary>
/// Central differences of a double-precision objective (h = 1e-6, error about 1e-9) against a kernel's gradient (double
/// inside, rounded to float once), for the normalization kernels whose curvature float differences cannot follow.
/// </summary>
internal static class DoubleDifferences
{
    /// <summary>Asserts each entry of <paramref name="analytic"/> within 1e-5 (relative above 1) of the difference of <paramref name="objective"/> at <paramref name="point"/>.</summary>
    public static void AssertMatches(double[] point, float[] analytic, Func<double> objective, string what)
    {
        for (int i = 0; i < point.Length; i++)
        {
            double saved = point[i];
            point[i] = saved + 1e-6;
            double up = objective();
            point[i] = saved - 1e-6;
            double down = objective();
            point[i] = saved;
            double numeric = (up - down) / 2e-6;
            Assert.True(Math.Abs(numeric - analytic[i]) <= 1e-5 * Math.Max(1, Math.Abs(numeric)),
                $"{what}[{i}]: numeric {numeric:G9}, kernel {analytic[i]:G9}");
        }
    }
}
