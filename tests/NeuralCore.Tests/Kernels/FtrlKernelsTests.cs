using NeuralCore.Kernels;
using NeuralCore.Optimizers;

namespace NeuralCore.Tests.Kernels;

/// <summary>
/// FTRL's update on every instruction-set path against the scalar path, bit for bit, at every length 0..256 and two
/// longer odd ones (Keras's own code checks the values: <c>KerasOptimizerTests</c>); its L1 strength's exact zeros; and
/// a step at learning rate 0.
/// </summary>
public class FtrlKernelsTests
{
    public static TheoryData<string> Paths() => [.. KernelIsaSupport.Supported.Select(isa => isa.ToString())];

    [Theory]
    [MemberData(nameof(Paths))]
    public void Every_path_is_the_scalar_path_bit_for_bit(string path)
    {
        KernelIsa isa = Enum.Parse<KernelIsa>(path);
        foreach (int n in Enumerable.Range(0, 257).Append(509).Append(1021))
        {
            foreach ((float power, float l1) in new[] { (-0.5f, 0f), (-0.5f, 0.05f), (0f, 0.01f) })
            {
                float[] p = Seeded.Uniform(n, n + 1, 2f), g = Seeded.Uniform(n, n + 2, 0.5f);
                float[] a = [.. Seeded.Uniform(n, n + 3, 1f).Select(x => Math.Abs(x) + 0.1f)], z = Seeded.Uniform(n, n + 4, 0.2f);
                if (n > 4)
                {
                    (z[1], z[2], g[3]) = (-0f, 0f, float.NaN);
                }

                float[] sp = (float[])p.Clone(), sa = (float[])a.Clone(), sz = (float[])z.Clone();
                OptimizerKernels.FtrlUpdate(p, g, a, z, 0.1f, power, l1, 0.3f, 0.02f, isa);
                OptimizerKernels.FtrlUpdate(sp, g, sa, sz, 0.1f, power, l1, 0.3f, 0.02f, KernelIsa.Scalar);
                string where = $"{isa}, {n}, power {power}, l1 {l1}";
                Assert.True(sp.AsSpan().SequenceEqual(p), where + ": parameters");
                Assert.True(sa.AsSpan().SequenceEqual(a), where + ": accumulators");
                Assert.True(sz.AsSpan().SequenceEqual(z), where + ": linear terms");
            }
        }
    }

    [Fact]
    public void A_rate_that_changes_between_steps_is_the_one_each_step_divides_by()
    {
        // Keras's update_step in double with every term on, the rate changed before each step as a schedule does.
        const double power = -0.5, l1 = 0.01, l2 = 0.05, shrink = 0.02, beta = 0.3;
        float[] rates = [0.5f, 0.2f, 0.05f, 0.3f, 0.01f];
        var ftrl = new Ftrl(new FtrlOptions(0.5f, (float)power, 0.1f, (float)l1, (float)l2, (float)shrink, (float)beta));
        ftrl.Initialize(4);
        float[] theta = [0.5f, -1.5f, 2f, 0f];
        double[] w = [0.5, -1.5, 2, 0], n = [0.1, 0.1, 0.1, 0.1], z = new double[4];
        for (int step = 0; step < rates.Length; step++)
        {
            float[] g = [0.1f * (step + 1), -0.3f, 1f / (step + 1), -0.05f * (step + 1) * (step + 1)];
            ftrl.LearningRate = rates[step];
            ftrl.Update(theta, g);
            double lr = rates[step], l2Total = l2 + (beta / (2 * lr));
            for (int i = 0; i < 4; i++)
            {
                double next = n[i] + ((double)g[i] * g[i]);
                z[i] += g[i] + (2 * shrink * w[i]) - ((Math.Pow(next, -power) - Math.Pow(n[i], -power)) / lr * w[i]);
                w[i] = (Math.Clamp(z[i], -l1, l1) - z[i]) / ((Math.Pow(next, -power) / lr) + (2 * l2Total));
                n[i] = next;
                Assert.True(Math.Abs(w[i] - theta[i]) <= 1e-5 * Math.Max(1, Math.Abs(w[i])), $"step {step}, element {i}: {theta[i]:G9}, expected {w[i]:G9}");
            }
        }
    }

    [Fact]
    public void An_l1_strength_leaves_weakly_pulled_parameters_exactly_zero_and_a_zero_rate_changes_nothing()
    {
        // Gradients of 1e-3 against an L1 strength of 1: |z| stays below it, so every parameter is 0 after each step.
        var ftrl = new Ftrl(new FtrlOptions(0.1f, L1RegularizationStrength: 1f));
        ftrl.Initialize(4);
        float[] theta = [0.5f, -1.5f, 2f, 0f];
        for (int step = 0; step < 5; step++)
        {
            ftrl.Update(theta, [1e-3f, -1e-3f, 2e-3f, 0f]);
            Assert.All(theta, t => Assert.Equal(0f, t));
        }

        float[] state = ftrl.State.ToArray(), before = [0.5f, -1.5f, 2f, 0f];
        theta = (float[])before.Clone();
        ftrl.LearningRate = 0f;
        ftrl.Update(theta, [0.3f, 0.3f, 0.3f, 0.3f]);
        Assert.Equal(before, theta);
        Assert.Equal(state, ftrl.State.ToArray());
    }

    [Fact]
    public void A_beta_too_small_for_float_still_keeps_parameters_without_a_gradient_finite()
    {
        // β / (2·lr) = 5e-47 rounds to 0 in float: with accumulators from 0, a parameter whose gradient is 0 got 0/0.
        var ftrl = new Ftrl(new FtrlOptions(10f, InitialAccumulatorValue: 0f, Beta: 1e-45f));
        ftrl.Initialize(3);
        float[] theta = [0.5f, -1.5f, 2f];
        ftrl.Update(theta, [0.2f, 0f, -0.1f]);
        Assert.All(theta, t => Assert.True(float.IsFinite(t), $"{t}"));
        Assert.Equal(0f, theta[1]);
    }

    [Fact]
    public void A_direct_call_with_settings_out_of_range_names_the_setting()
    {
        // A negative l1 went through the square-root and fixed-rate paths as a number, and made the general power's
        // clamp throw "'1' cannot be greater than -1".
        float[] p = [1f], g = [0.5f], n = [0.1f], z = [0f];
        foreach (float power in new[] { -0.5f, 0f, -0.4f })
        {
            Assert.Equal("l1", Assert.Throws<ArgumentOutOfRangeException>(() => OptimizerKernels.FtrlUpdate(p, g, n, z, 0.1f, power, -1f, 0f, 0f)).ParamName);
            Assert.Equal("l1", Assert.Throws<ArgumentOutOfRangeException>(() => OptimizerKernels.FtrlUpdate(p, g, n, z, 0.1f, power, float.NaN, 0f, 0f)).ParamName);
        }

        Assert.Equal("power", Assert.Throws<ArgumentOutOfRangeException>(() => OptimizerKernels.FtrlUpdate(p, g, n, z, 0.1f, 0.5f, 0f, 0f, 0f)).ParamName);
        Assert.Equal("learningRate", Assert.Throws<ArgumentOutOfRangeException>(() => OptimizerKernels.FtrlUpdate(p, g, n, z, 0f, -0.5f, 0f, 0f, 0f)).ParamName);
        Assert.Equal("twoL2", Assert.Throws<ArgumentOutOfRangeException>(() => OptimizerKernels.FtrlUpdate(p, g, n, z, 0.1f, -0.5f, 0f, -1f, 0f)).ParamName);
        Assert.Equal("shrinkage", Assert.Throws<ArgumentOutOfRangeException>(() => OptimizerKernels.FtrlUpdate(p, g, n, z, 0.1f, -0.5f, 0f, 0f, float.PositiveInfinity)).ParamName);
        Assert.Equal([1f], p);
    }
}
