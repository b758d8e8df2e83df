using NeuralCore.Optimizers;

namespace NeuralCore.Tests.Optimizers;

/// <summary>
/// Golden values from golden_optimizers.py (beside this file), which applies Keras 3's Adam and SGD update rules
/// in float64. NeuralCore computes in float32, so values agree to about 1e-6.
/// </summary>
public class OptimizerGoldenTests
{
    private static readonly float[] Theta0 = [0.5f, -1.5f, 2.0f, 0.0f];

    private static float[] Gradient(int t) => [0.1f * t, -0.3f, 1.0f / t, -0.05f * t * t];

    private static float[] Run(IOptimizer optimizer, int steps)
    {
        float[] theta = (float[])Theta0.Clone();
        optimizer.Initialize(theta.Length);
        for (int t = 1; t <= steps; t++)
        {
            optimizer.Update(theta, Gradient(t));
        }

        Assert.Equal(steps, optimizer.Iterations);
        return theta;
    }

    private static void AssertClose(double[] expected, float[] actual, double tolerance)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"element {i}: expected {expected[i]:G9}, got {actual[i]:G9}");
        }
    }

    [Theory]
    [InlineData(1, new[] { 0.499000032, -1.49900001, 1.999, 0.000999936758 })]
    [InlineData(2, new[] { 0.498034863, -1.49800002, 1.99806783, 0.00188429968 })]
    [InlineData(5, new[] { 0.495149232, -1.49500003, 1.99559855, 0.00449328924 })]
    public void Adam_with_keras_defaults_matches_golden_values(int steps, double[] expected) =>
        AssertClose(expected, Run(new Adam(), steps), 2e-6);

    [Fact]
    public void Adam_first_step_moves_each_parameter_by_about_the_learning_rate()
    {
        // With m = v = 0, step 1 is lr·g/(|g| + ε/√(1-β2)) ≈ lr·sign(g): a bias correction that multiplied instead of
        // dividing would make this step vanish.
        float[] theta = Run(new Adam(), 1);
        Assert.Equal(0.001, Theta0[0] - theta[0], 1e-5);
        Assert.Equal(-0.001, Theta0[1] - theta[1], 1e-5);
    }

    [Fact]
    public void Adam_with_a_large_learning_rate_matches_golden_values() =>
        AssertClose([0.0149232092, -1.00000341, 1.55985515, 0.449328924], Run(new Adam(0.1f), 5), 2e-5);

    [Fact]
    public void Sgd_plain_matches_golden_values() =>
        AssertClose([0.485, -1.485, 1.97716667, 0.0275], Run(new Sgd(), 5), 1e-6);

    [Fact]
    public void Sgd_momentum_matches_golden_values() =>
        AssertClose([0.4682969, -1.4605677, 1.92607067, 0.04882055], Run(new Sgd(new SgdOptions(Momentum: 0.9f)), 5), 1e-6);

    [Fact]
    public void Sgd_nesterov_matches_golden_values() =>
        AssertClose([0.45646721, -1.44951093, 1.91063027, 0.071438495],
            Run(new Sgd(new SgdOptions(Momentum: 0.9f, Nesterov: true)), 5), 1e-6);

    [Fact]
    public void Defaults_are_keras_defaults()
    {
        var adam = new AdamOptions();
        Assert.Equal((1e-3f, 0.9f, 0.999f, 1e-7f), (adam.LearningRate, adam.Beta1, adam.Beta2, adam.Epsilon));
        var sgd = new SgdOptions();
        Assert.Equal((0.01f, 0f, false), (sgd.LearningRate, sgd.Momentum, sgd.Nesterov));
    }

    [Theory]
    [InlineData(0f, 0.9f, 0.999f, 1e-7f, "LearningRate")]
    [InlineData(float.NaN, 0.9f, 0.999f, 1e-7f, "LearningRate")]
    [InlineData(1e-3f, 1f, 0.999f, 1e-7f, "Beta1")]
    [InlineData(1e-3f, 0.9f, -0.1f, 1e-7f, "Beta2")]
    [InlineData(1e-3f, 0.9f, 0.999f, 0f, "Epsilon")]
    public void Invalid_adam_options_name_the_option(float lr, float b1, float b2, float eps, string name)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(new AdamOptions(lr, b1, b2, eps)));
        Assert.Equal(name, ex.ParamName);
    }

    [Fact]
    public void Invalid_sgd_options_name_the_option()
    {
        Assert.Equal("Momentum", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(new SgdOptions(Momentum: 1f))).ParamName);
        Assert.Equal("LearningRate", Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd(new SgdOptions(LearningRate: -1f))).ParamName);
    }

    [Fact]
    public void Update_before_initialize_is_rejected()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new Adam().Update(new float[3], new float[3]));
        Assert.Contains("Initialize", ex.Message, StringComparison.Ordinal);
    }
}
