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

    private static float[] Run(IOptimizer optimizer, int steps, ParameterSegment[]? segments = null)
    {
        float[] theta = (float[])Theta0.Clone();
        if (segments is null)
        {
            optimizer.Initialize(theta.Length);
        }
        else
        {
            ((Optimizer)optimizer).Initialize(theta.Length, segments);
        }

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
    public void Amsgrad_keeps_the_largest_second_moment()
    {
        // beta_2 = 0.5 lets v fall for the third parameter (its gradient is 1/t), where AMSGrad keeps the maximum.
        AssertClose([0.0780949922, -1.00000019, 1.43012472, 0.372863539], Run(new Adam(new AdamOptions(0.1f, Beta2: 0.5f)), 5), 2e-5);
        AssertClose([0.0780949922, -1.00000019, 1.60661201, 0.372863539],
            Run(new Adam(new AdamOptions(0.1f, Beta2: 0.5f, Amsgrad: true)), 5), 2e-5);
    }

    [Fact]
    public void Variables_excluded_by_name_are_not_decayed_and_the_exclusions_are_saved()
    {
        // Keras's exclude_from_weight_decay(var_names=...): the same golden values as above, per variable. A layer
        // normalization's gamma and beta are both biases by role; by name, gamma is decayed and beta is not.
        ParameterSegment[] segments =
        [
            new("dense/kernel", 0, 1, ParameterRole.Weight), new("dense/bias", 1, 1, ParameterRole.Bias),
            new("layer_normalization/gamma", 2, 1, ParameterRole.Bias), new("layer_normalization/beta", 3, 1, ParameterRole.Bias),
        ];
        var sgd = new Sgd(new SgdOptions(0.1f)) { WeightDecay = 0.5f, DecayBiases = true, ExcludeFromWeightDecay = ["/bias", "/beta"] };
        AssertClose([0.246522906, -1.35, 1.34940917, 0.275], Run(sgd, 5, segments), 1e-6);

        // Excluded by name even as a weight: nothing is decayed here (the biases are not, without DecayBiases).
        AssertClose([0.35, -1.35, 1.77166667, 0.275],
            Run(new Sgd(new SgdOptions(0.1f)) { WeightDecay = 0.5f, ExcludeFromWeightDecay = ["kernel"] }, 5, segments), 1e-6);

        var config = Configuration.ComponentRegistry.ConfigOf(sgd);
        var read = (Optimizer)Configuration.ComponentRegistry.CreateOptimizer(config);
        Assert.Equal(["/bias", "/beta"], read.ExcludeFromWeightDecay);
        AssertClose([0.246522906, -1.35, 1.34940917, 0.275], Run(read, 5, segments), 1e-6);

        Assert.Contains("ExcludeFromWeightDecay[1] is empty", Assert.Throws<ArgumentException>(() => new Sgd { ExcludeFromWeightDecay = ["bias", ""] }).Message, StringComparison.Ordinal);
        Assert.Contains("line break", Assert.Throws<ArgumentException>(() => new Sgd { ExcludeFromWeightDecay = ["a\nb"] }).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RmsProp_matches_golden_values()
    {
        AssertClose([0.486772397, -1.48935475, 1.99299803, 0.0144614292], Run(new RmsProp(), 5), 1e-6);
        AssertClose([0.459386482, -1.46545301, 1.97534977, 0.0427405178],
            Run(new RmsProp(new RmsPropOptions(Momentum: 0.9f, Centered: true)), 5), 2e-6);
    }

    [Fact]
    public void Weight_decay_is_decoupled_and_skips_biases_unless_asked()
    {
        AssertClose([0.246522906, -1.02493997, 1.34940917, 0.262832531],
            Run(new Sgd(new SgdOptions(0.1f)) { WeightDecay = 0.5f }, 5), 1e-6);

        // The last two parameters are a bias: excluded by default, decayed with DecayBiases.
        ParameterSegment[] segments = [new("kernel", 0, 2, ParameterRole.Weight), new("bias", 2, 2, ParameterRole.Bias)];
        AssertClose([0.246522906, -1.02493997, 1.77166667, 0.275],
            Run(new Sgd(new SgdOptions(0.1f)) { WeightDecay = 0.5f }, 5, segments), 1e-6);
        AssertClose([0.246522906, -1.02493997, 1.34940917, 0.262832531],
            Run(new Sgd(new SgdOptions(0.1f)) { WeightDecay = 0.5f, DecayBiases = true }, 5, segments), 1e-6);
    }

    [Fact]
    public void Clipping_follows_keras()
    {
        AssertClose([0.420027694, -1.41508683, 1.87009999, 0.135665097], Run(new Sgd(new SgdOptions(0.1f)) { ClipNorm = 0.5f }, 5), 1e-6);
        AssertClose([0.420027694, -1.41508683, 1.87009999, 0.135665097], Run(new Sgd(new SgdOptions(0.1f)) { GlobalClipNorm = 0.5f }, 5), 1e-6);
        AssertClose([0.41, -1.4, 1.9, 0.085], Run(new Sgd(new SgdOptions(0.1f)) { ClipValue = 0.2f }, 5), 1e-6);

        // clipnorm works per variable: split in two, each half is clipped by its own norm.
        ParameterSegment[] halves = [new("a", 0, 2, ParameterRole.Weight), new("b", 2, 2, ParameterRole.Weight)];
        float[] perVariable = Run(new Sgd(new SgdOptions(0.1f)) { ClipNorm = 0.5f }, 5, halves);
        Assert.NotEqual(Run(new Sgd(new SgdOptions(0.1f)) { ClipNorm = 0.5f }, 5)[0], perVariable[0]);
        Assert.Equal(Run(new Sgd(new SgdOptions(0.1f)) { GlobalClipNorm = 0.5f }, 5),
            Run(new Sgd(new SgdOptions(0.1f)) { GlobalClipNorm = 0.5f }, 5, halves));

        // Two clippings are refused when the optimizer is built, as Keras refuses them (they were found only at the
        // first update, after the model had compiled and the data had loaded), naming the second one set.
        var ex = Assert.Throws<ArgumentException>(() => new Sgd() { ClipNorm = 1f, ClipValue = 1f });
        Assert.Contains("at most one of ClipNorm, ClipValue and GlobalClipNorm", ex.Message, StringComparison.Ordinal);
        Assert.Equal("ClipValue", ex.ParamName);
        Assert.Equal("ClipNorm", Assert.Throws<ArgumentException>(() => new Adam() { GlobalClipNorm = 1f, ClipNorm = 2f }).ParamName);
        _ = new Sgd() { ClipNorm = 0f, ClipValue = 1f };
    }

    [Fact]
    public void Defaults_are_keras_defaults()
    {
        var adam = new AdamOptions();
        Assert.Equal((1e-3f, 0.9f, 0.999f, 1e-7f), (adam.LearningRate, adam.Beta1, adam.Beta2, adam.Epsilon));
        var sgd = new SgdOptions();
        Assert.Equal((0.01f, 0f, false), (sgd.LearningRate, sgd.Momentum, sgd.Nesterov));
    }

    [Theory]
    [InlineData(-1e-3f, 0.9f, 0.999f, 1e-7f, "LearningRate")]
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

    [Theory]
    [InlineData("adam")]
    [InlineData("amsgrad")]
    [InlineData("rmsprop")]
    [InlineData("rmsprop-centered")]
    [InlineData("adagrad")]
    [InlineData("adadelta")]
    [InlineData("adamax")]
    [InlineData("nadam")]
    [InlineData("lion")]
    [InlineData("lamb")]
    [InlineData("ftrl")]
    [InlineData("adafactor")]
    public void A_nan_gradient_reaches_the_state_and_the_parameter_as_in_pytorch(string rule)
    {
        // The subnormal flush kept a moment only where |m| >= 1e-30, which a NaN never is: the NaN step wiped m and v
        // to 0 and (Adam) left the parameter as it was. 37 parameters: the vector paths and a scalar tail.
        Optimizer optimizer = rule switch
        {
            "adam" => new Adam(0.01f),
            "amsgrad" => new Adam(new AdamOptions(0.01f, Amsgrad: true)),
            "rmsprop" => new RmsProp(new RmsPropOptions(0.01f)),
            "adagrad" => new Adagrad(0.01f),
            "adadelta" => new Adadelta(1f),
            "adamax" => new Adamax(0.01f),
            "nadam" => new Nadam(0.01f),
            "lion" => new Lion(0.01f),
            "lamb" => new Lamb(0.01f),
            "ftrl" => new Ftrl(new FtrlOptions(0.01f, L1RegularizationStrength: 0.01f, L2ShrinkageRegularizationStrength: 0.1f)),
            "adafactor" => new Adafactor(0.01f),
            _ => new RmsProp(new RmsPropOptions(0.01f, Centered: true)),
        };
        const int Count = 37;
        optimizer.Initialize(Count);
        float[] parameters = [.. Enumerable.Repeat(1f, Count)];
        for (int step = 0; step < 20; step++)
        {
            optimizer.Update(parameters, [.. Enumerable.Repeat(0.5f, Count)]);
        }

        float[] gradients = [.. Enumerable.Repeat(0.5f, Count)];
        gradients[3] = float.NaN;
        gradients[Count - 1] = float.NaN;
        optimizer.Update(parameters, gradients);
        if (rule == "adafactor")
        {
            // Its step is scaled by the RMS of the whole variable's update, NaN with one NaN in it: as in Keras, every
            // parameter of the variable becomes NaN; the moments of the finite gradients stay finite (its second slot
            // is a matrix's column moments, unused by this vector).
            Assert.All(parameters, p => Assert.True(float.IsNaN(p)));
            Assert.True(float.IsNaN(optimizer.State.Span[3]) && float.IsNaN(optimizer.State.Span[Count - 1]) && float.IsFinite(optimizer.State.Span[4]));
            return;
        }

        foreach (int i in new[] { 3, Count - 1 })
        {
            Assert.True(float.IsNaN(parameters[i]), $"{rule}: parameter {i} is {parameters[i]}");
            for (int slot = 0; slot < optimizer.StateSlotCount; slot++)
            {
                Assert.True(float.IsNaN(optimizer.State.Span[(slot * Count) + i]),
                    $"{rule}: state slot {slot} of parameter {i} is {optimizer.State.Span[(slot * Count) + i]}");
            }
        }

        Assert.True(float.IsFinite(parameters[4]), "a parameter with a finite gradient stays finite");
    }

    [Fact]
    public void Adagrad_starts_every_accumulator_at_its_initial_value_on_each_initialize()
    {
        var adagrad = new Adagrad(new AdagradOptions(InitialAccumulatorValue: 0.25f));
        adagrad.Initialize(5);
        Assert.All(adagrad.State.ToArray(), a => Assert.Equal(0.25f, a));
        adagrad.Update(new float[5], [1f, 1f, 1f, 1f, 1f]);
        Assert.All(adagrad.State.ToArray(), a => Assert.Equal(1.25f, a));
        adagrad.Initialize(3);
        Assert.Equal([0.25f, 0.25f, 0.25f], adagrad.State.ToArray());
    }

    [Theory]
    [InlineData(4, 9)]
    [InlineData(50, 60)]
    [InlineData(999, 1003)]
    [InlineData(1500, 1510)]
    public void Nadam_resumed_from_its_state_and_step_count_continues_bit_for_bit(int stop, int end)
    {
        // Nadam's momentum product is not in State: it must follow from Iterations alone, as after loading a checkpoint,
        // in the schedule (a shorter one passed at step 4), across its end, and past it (where a product carried from
        // step to step and one recomputed by Math.Pow differ in the last bit). Small gradients keep 1,500 steps sane.
        static float[] Small(int t) => [.. Gradient(1 + (t % 7)).Select(g => g * 0.01f)];
        float[] straight = (float[])Theta0.Clone();
        var reference = new Nadam(new NadamOptions(0.01f, Beta1: 0.999f));
        reference.Initialize(straight.Length);
        for (int t = 1; t <= end; t++)
        {
            reference.Update(straight, Small(t));
        }

        var first = new Nadam(new NadamOptions(0.01f, Beta1: 0.999f));
        float[] theta = (float[])Theta0.Clone();
        first.Initialize(theta.Length);
        for (int t = 1; t <= stop; t++)
        {
            first.Update(theta, Small(t));
        }

        var resumed = new Nadam(new NadamOptions(0.01f, Beta1: 0.999f));
        resumed.Initialize(theta.Length);
        first.State.CopyTo(resumed.State);
        resumed.SetIterations(first.Iterations);
        for (int t = stop + 1; t <= end; t++)
        {
            resumed.Update(theta, Small(t));
        }

        Assert.Equal(straight, theta);
        Assert.Equal(reference.State.ToArray(), resumed.State.ToArray());
    }

    [Fact]
    public void A_step_count_beyond_max_iterations_is_refused_and_one_at_it_still_steps()
    {
        // At long.MaxValue Nadam's t + 1 overflowed: every parameter became NaN and the count wrapped negative.
        var nadam = new Nadam(0.01f);
        nadam.Initialize(4);
        Assert.Equal("iterations", Assert.Throws<ArgumentOutOfRangeException>(() => nadam.SetIterations(Optimizer.MaxIterations + 1)).ParamName);
        nadam.SetIterations(Optimizer.MaxIterations);
        float[] theta = (float[])Theta0.Clone();
        nadam.Update(theta, Gradient(1));
        Assert.All(theta, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(Optimizer.MaxIterations + 1, nadam.Iterations);
    }

    [Fact]
    public void Nadam_after_a_very_large_step_count_takes_a_finite_step_at_once()
    {
        // Past about 900 steps the momentum schedule is flat; the product over 10^12 steps must not be a loop of 10^12.
        var nadam = new Nadam(0.01f);
        nadam.Initialize(4);
        nadam.SetIterations(1_000_000_000_000);
        float[] theta = (float[])Theta0.Clone();
        nadam.Update(theta, Gradient(1));
        Assert.All(theta, v => Assert.True(float.IsFinite(v)));
        Assert.NotEqual(Theta0, theta);
    }

    [Theory]
    [InlineData("adagrad", "LearningRate")]
    [InlineData("adagrad-initial", "InitialAccumulatorValue")]
    [InlineData("adagrad-epsilon", "Epsilon")]
    [InlineData("adadelta", "Rho")]
    [InlineData("adamax", "Beta2")]
    [InlineData("nadam", "Beta1")]
    [InlineData("nadam-epsilon", "Epsilon")]
    [InlineData("lion", "Beta2")]
    [InlineData("lion-rate", "LearningRate")]
    [InlineData("lamb", "Beta1")]
    [InlineData("lamb-epsilon", "Epsilon")]
    [InlineData("ftrl-power", "LearningRatePower")]
    [InlineData("ftrl-l1", "L1RegularizationStrength")]
    [InlineData("ftrl-zero-accumulator", "InitialAccumulatorValue")]
    [InlineData("adafactor-decay", "Beta2Decay")]
    [InlineData("adafactor-decay-infinite", "Beta2Decay")]
    [InlineData("adafactor-epsilon1", "Epsilon1")]
    [InlineData("adafactor-epsilon2", "Epsilon2")]
    [InlineData("adafactor-clip", "ClipThreshold")]
    public void Invalid_options_of_the_newer_optimizers_name_the_option(string which, string name)
    {
        Func<Optimizer> make = which switch
        {
            "adagrad" => () => new Adagrad(-0.01f),
            "adagrad-initial" => () => new Adagrad(new AdagradOptions(InitialAccumulatorValue: -0.1f)),
            "adagrad-epsilon" => () => new Adagrad(new AdagradOptions(Epsilon: float.NaN)),
            "adadelta" => () => new Adadelta(new AdadeltaOptions(Rho: 1f)),
            "adamax" => () => new Adamax(new AdamaxOptions(Beta2: -0.5f)),
            "nadam" => () => new Nadam(new NadamOptions(Beta1: 1.5f)),
            "nadam-epsilon" => () => new Nadam(new NadamOptions(Epsilon: 0f)),
            "lion" => () => new Lion(new LionOptions(Beta2: 1f)),
            "lamb" => () => new Lamb(new LambOptions(Beta1: 1.5f)),
            "lamb-epsilon" => () => new Lamb(new LambOptions(Epsilon: -1f)),
            "ftrl-power" => () => new Ftrl(new FtrlOptions(LearningRatePower: 0.5f)),
            "ftrl-l1" => () => new Ftrl(new FtrlOptions(L1RegularizationStrength: float.NaN)),
            "ftrl-zero-accumulator" => () => new Ftrl(new FtrlOptions(InitialAccumulatorValue: 0f)),
            // A positive decay exponent makes β2 = 1 - t^decay negative from the second step.
            "adafactor-decay" => () => new Adafactor(new AdafactorOptions(Beta2Decay: 0.5f)),
            "adafactor-decay-infinite" => () => new Adafactor(new AdafactorOptions(Beta2Decay: float.NegativeInfinity)),
            "adafactor-epsilon1" => () => new Adafactor(new AdafactorOptions(Epsilon1: 0f)),
            "adafactor-epsilon2" => () => new Adafactor(new AdafactorOptions(Epsilon2: -1e-3f)),
            "adafactor-clip" => () => new Adafactor(new AdafactorOptions(ClipThreshold: 0f)),
            _ => () => new Lion(float.PositiveInfinity),
        };
        Assert.Equal(name, Assert.Throws<ArgumentOutOfRangeException>(make).ParamName);
    }

    [Fact]
    public void Defaults_of_the_newer_optimizers_are_keras_defaults()
    {
        Assert.Equal(new AdagradOptions(1e-3f, 0.1f, 1e-7f), new AdagradOptions());
        Assert.Equal(new AdadeltaOptions(1e-3f, 0.95f, 1e-7f), new AdadeltaOptions());
        Assert.Equal(new AdamaxOptions(1e-3f, 0.9f, 0.999f, 1e-7f), new AdamaxOptions());
        Assert.Equal(new NadamOptions(1e-3f, 0.9f, 0.999f, 1e-7f), new NadamOptions());
        Assert.Equal(new LionOptions(1e-3f, 0.9f, 0.99f), new LionOptions());
        Assert.Equal(new LambOptions(1e-3f, 0.9f, 0.999f, 1e-7f), new LambOptions());
        Assert.Equal(new AdafactorOptions(1e-3f, -0.8f, 1e-30f, 1e-3f, 1f), new AdafactorOptions());
        Assert.Equal(new FtrlOptions(1e-3f, -0.5f, 0.1f, 0f, 0f, 0f, 0f), new FtrlOptions());

        // An accumulator from 0 is fine where the denominator has another term (a fixed rate, an L2 strength, beta).
        _ = new Ftrl(new FtrlOptions(InitialAccumulatorValue: 0f, LearningRatePower: 0f));
        _ = new Ftrl(new FtrlOptions(InitialAccumulatorValue: 0f, L2RegularizationStrength: 0.1f));
        _ = new Ftrl(new FtrlOptions(InitialAccumulatorValue: 0f, Beta: 1f));
    }

    [Fact]
    public void Update_before_initialize_is_rejected()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new Adam().Update(new float[3], new float[3]));
        Assert.Contains("Initialize", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(7)]
    public void Update_with_a_gradient_per_parameter_missing_or_extra_names_both_counts(int gradients)
    {
        // Too few threw a bare ArgumentOutOfRangeException from the update's slicing.
        var adam = new Adam();
        adam.Initialize(6);
        var ex = Assert.Throws<ArgumentException>(() => adam.Update(new float[6], new float[gradients]));
        Assert.Contains($"one gradient per parameter: 6. Received: {gradients} gradients", ex.Message, StringComparison.Ordinal);
    }
    [Fact]
    public void A_subclass_with_negative_state_or_a_range_outside_its_state_is_refused()
    {
        // StateSlots = -1 failed with an OverflowException in Initialize, and StateSlot(0, 2, 4) over 4 parameters
        // returned a span running into the next slot's state.
        var negative = new Probe(-1);
        Assert.Contains("reports -1 state slots", Assert.Throws<InvalidOperationException>(() => negative.Initialize(10)).Message, StringComparison.Ordinal);
        var probe = new Probe(2);
        probe.Initialize(4);
        Assert.Equal(4, probe.Slot(1, 0, 4));
        Assert.Equal("length", Assert.Throws<ArgumentOutOfRangeException>(() => probe.Slot(0, 2, 4)).ParamName);
        Assert.Equal("length", Assert.Throws<ArgumentOutOfRangeException>(() => probe.Slot(0, -1, 1)).ParamName);
        Assert.Equal("slot", Assert.Throws<ArgumentOutOfRangeException>(() => probe.Slot(2, 0, 1)).ParamName);
    }

    private sealed class Probe(int slots) : Optimizer(0.01f)
    {
        public override string Name => "probe";

        protected override int StateSlots => slots;

        public int Slot(int slot, int offset, int length) => StateSlot(slot, offset, length).Length;

        protected override void WriteRuleConfig(NeuralCore.Configuration.ComponentConfig config)
        {
        }

        protected override void Apply(Span<float> parameters, ReadOnlySpan<float> gradients, int offset, int length, float learningRate)
        {
        }
    }
}
