using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// LAMB's two passes on every instruction-set path: the norms against their naive 16-sum reference and the update
/// against the scalar path, bit for bit, at every length 0..256 and two longer odd ones, so that every block and
/// vector width meets every tail.
/// </summary>
public class LambKernelsTests
{
    private static readonly int[] Lengths = [.. Enumerable.Range(0, 257), 509, 1021];

    public static TheoryData<string> Paths() => [.. KernelIsaSupport.Supported.Select(isa => isa.ToString())];

    [Theory]
    [MemberData(nameof(Paths))]
    public void Norms_and_updates_are_the_reference_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        const float beta1 = 0.9f, beta2 = 0.99f, c1 = 0.19f, c2 = 0.0199f, epsilon = 1e-7f;
        foreach (int n in Lengths)
        {
            foreach (float decay in new[] { 0f, 0.003f })
            {
                float[] p = Seeded.Uniform(n, n + 1, 2f), g = Seeded.Uniform(n, n + 2, 0.5f);
                float[] m = Seeded.Uniform(n, n + 3, 0.1f), v = [.. Seeded.Uniform(n, n + 4, 0.01f).Select(Math.Abs)];
                if (n > 5)
                {
                    // A quiet moment the floor flushes, and an infinite weight that a decay of 0 must leave finite in its square.
                    (m[1], v[2], p[3]) = (1e-31f, 1e-33f, decay == 0f ? float.PositiveInfinity : 1e30f);
                }

                (double thetas, double updates) = OptimizerKernels.LambNorms(p, g, m, v, decay, beta1, beta2, c1, c2, epsilon, isa);
                (double expectedThetas, double expectedUpdates) = OptimizerKernels.LambNormsReference(p, g, m, v, decay, beta1, beta2, c1, c2, epsilon);
                Assert.True(BitConverter.DoubleToInt64Bits(expectedThetas) == BitConverter.DoubleToInt64Bits(thetas), $"{isa}, {n}, decay {decay}: Σθ² {thetas:R}, expected {expectedThetas:R}");
                Assert.True(BitConverter.DoubleToInt64Bits(expectedUpdates) == BitConverter.DoubleToInt64Bits(updates), $"{isa}, {n}, decay {decay}: Σu² {updates:R}, expected {expectedUpdates:R}");

                float[] sp = (float[])p.Clone(), sm = (float[])m.Clone(), sv = (float[])v.Clone();
                OptimizerKernels.LambUpdate(p, g, m, v, 0.02f, beta1, beta2, c1, c2, epsilon, isa);
                OptimizerKernels.LambUpdate(sp, g, sm, sv, 0.02f, beta1, beta2, c1, c2, epsilon, KernelIsa.Scalar);
                Assert.Equal(sp, p);
                Assert.Equal(sm, m);
                Assert.Equal(sv, v);
            }
        }
    }

    [Fact]
    public void The_norms_are_those_of_the_update_the_step_applies()
    {
        // Σu² from the first pass equals the squares of what the second pass subtracts (divided by its step).
        float[] p = Seeded.Uniform(37, 1, 2f), g = Seeded.Uniform(37, 2, 0.5f), m = new float[37], v = new float[37];
        (_, double updates) = OptimizerKernels.LambNorms(p, g, m, v, 0f, 0.9f, 0.999f, 0.1f, 0.001f, 1e-7f);
        float[] before = (float[])p.Clone();
        OptimizerKernels.LambUpdate(p, g, m, v, 1f, 0.9f, 0.999f, 0.1f, 0.001f, 1e-7f);
        double sum = before.Zip(p, (b, a) => (double)(b - a) * (b - a)).Sum();
        Assert.True(Math.Abs(sum - updates) <= 1e-5 * updates, $"{sum} against {updates}");
    }
}
