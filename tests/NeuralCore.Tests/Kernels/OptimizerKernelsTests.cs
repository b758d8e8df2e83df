using NeuralCore.Kernels;

namespace NeuralCore.Tests.Kernels;

public class OptimizerKernelsTests
{
    private static readonly int[] LengthList = [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 257];

    public static TheoryData<int> Lengths() => [.. LengthList];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Adam_matches_the_keras_rule_element_by_element(int length)
    {
        float[] p = Seeded.Uniform(length, 1);
        float[] g = Seeded.Uniform(length, 2);
        float[] m = Seeded.Uniform(length, 3, 0.1f);
        float[] v = [.. Seeded.Uniform(length, 4, 0.1f).Select(MathF.Abs)];
        float[] ep = (float[])p.Clone(), em = (float[])m.Clone(), ev = (float[])v.Clone();
        const float alpha = 0.001f, beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-7f;

        OptimizerKernels.AdamUpdate(p, g, m, v, alpha, beta1, beta2, epsilon);

        for (int i = 0; i < length; i++)
        {
            double mi = em[i] + ((g[i] - (double)em[i]) * (1 - (double)beta1));
            double vi = ev[i] + (((double)g[i] * g[i]) - ev[i]) * (1 - (double)beta2);
            double pi = ep[i] - (alpha * mi / (Math.Sqrt(vi) + epsilon));
            Assert.Equal(mi, m[i], 1e-6);
            Assert.Equal(vi, v[i], 1e-6);
            Assert.Equal(pi, p[i], 1e-6);
        }
    }

    [Theory]
    [InlineData(0f, false)]
    [InlineData(0.9f, false)]
    [InlineData(0.9f, true)]
    public void Sgd_matches_the_keras_rule(float momentum, bool nesterov)
    {
        foreach (int length in LengthList)
        {
            float[] p = Seeded.Uniform(length, 1);
            float[] g = Seeded.Uniform(length, 2);
            float[] u = Seeded.Uniform(length, 3);
            float[] ep = (float[])p.Clone(), eu = (float[])u.Clone();
            const float lr = 0.01f;

            OptimizerKernels.SgdUpdate(p, g, momentum == 0 ? [] : u, lr, momentum, nesterov);

            for (int i = 0; i < length; i++)
            {
                double expected;
                if (momentum == 0)
                {
                    expected = ep[i] - (lr * (double)g[i]);
                }
                else
                {
                    double ui = (momentum * (double)eu[i]) - (lr * (double)g[i]);
                    Assert.Equal(ui, u[i], 1e-6);
                    expected = ep[i] + (nesterov ? (momentum * ui) - (lr * (double)g[i]) : ui);
                }

                Assert.Equal(expected, p[i], 1e-6);
            }
        }
    }

    [Fact]
    public void Mismatched_lengths_name_the_argument()
    {
        Assert.Equal("gradients", Assert.Throws<ArgumentException>(() =>
            OptimizerKernels.AdamUpdate(new float[4], new float[3], new float[4], new float[4], 1, 0.9f, 0.999f, 1e-7f)).ParamName);
        Assert.Equal("secondMoment", Assert.Throws<ArgumentException>(() =>
            OptimizerKernels.AdamUpdate(new float[4], new float[4], new float[4], new float[5], 1, 0.9f, 0.999f, 1e-7f)).ParamName);
        Assert.Equal("velocity", Assert.Throws<ArgumentException>(() =>
            OptimizerKernels.SgdUpdate(new float[4], new float[4], new float[3], 0.1f, 0.9f, false)).ParamName);
    }
}
