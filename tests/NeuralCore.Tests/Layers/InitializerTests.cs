using NeuralCore.Configuration;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Optimizers;
using NeuralCore.Randomness;
using NeuralCore.Serialization;
using NeuralCore.Tests.Training;
using NeuralCore.Training;

namespace NeuralCore.Tests.Layers;

/// <summary>
/// <see cref="Initializer"/>: Keras's distributions (bounds, means and variances over a 784 x 1024 kernel), the default
/// kernel drawn to the bit as it always was, seeds, the model file, and misuse.
/// </summary>
public sealed class InitializerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("neuralcore-init-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static float[] Kernel(Initializer initializer, int inputs = 784, int units = 1024, ulong seed = 7)
    {
        var dense = new Dense(units) { KernelInitializer = initializer };
        dense.Build(inputs, seed);
        return dense.Parameters.Span[..(inputs * units)].ToArray();
    }

    private static (double Mean, double Variance, double MaxAbs) Moments(float[] values)
    {
        double mean = values.Average(v => (double)v);
        double variance = values.Sum(v => (v - mean) * (v - mean)) / values.Length;
        return (mean, variance, values.Max(v => Math.Abs((double)v)));
    }

    [Theory]
    [InlineData(784, 1024)]
    [InlineData(3, 5)]
    [InlineData(1000, 7)]
    [InlineData(20, 21)]
    [InlineData(40, 59)]
    [InlineData(1, 1)]
    [InlineData(9, 4097)]
    [InlineData(100_000, 3)]
    public void The_default_kernel_is_glorot_uniform_drawn_as_before_initializers_were_options(int inputs, int units)
    {
        // The formula the layer always used: a seed gives the weights it gave (and trained models the accuracy they had),
        // to the bit at every size (the limit's rounding included: 20 + 21 and 40 + 59 are sums where a limit rounded from
        // double differs in its last bit).
        var dense = new Dense(units);
        dense.Build(inputs, 7);
        var random = new Xoshiro128(7);
        float limit = MathF.Sqrt(6f / (inputs + units));
        float[] expected = new float[inputs * units];
        for (int i = 0; i < expected.Length; i++)
        {
            expected[i] = ((2f * random.NextSingle()) - 1f) * limit;
        }

        Assert.Equal(expected, dense.Parameters.Span[..expected.Length].ToArray());
        Assert.All(dense.Parameters.Span[expected.Length..].ToArray(), b => Assert.Equal(0f, b));
        Assert.Equal(expected, Kernel(Initializer.GlorotUniform(), inputs, units));
        Assert.Equal("GlorotUniform()", dense.KernelInitializer.ToString());
    }

    [Theory]
    [InlineData("glorot_uniform", 2.0 / (784 + 1024), true)]
    [InlineData("glorot_normal", 2.0 / (784 + 1024), false)]
    [InlineData("he_uniform", 2.0 / 784, true)]
    [InlineData("he_normal", 2.0 / 784, false)]
    [InlineData("lecun_uniform", 1.0 / 784, true)]
    [InlineData("lecun_normal", 1.0 / 784, false)]
    public void Variance_scaling_presets_have_kerass_variance_and_bounds(string preset, double variance, bool uniform)
    {
        Initializer initializer = preset switch
        {
            "glorot_uniform" => Initializer.GlorotUniform(),
            "glorot_normal" => Initializer.GlorotNormal(),
            "he_uniform" => Initializer.HeUniform(),
            "he_normal" => Initializer.HeNormal(),
            "lecun_uniform" => Initializer.LecunUniform(),
            _ => Initializer.LecunNormal(),
        };
        (double mean, double actual, double maxAbs) = Moments(Kernel(initializer));

        // 802,816 values: the sample variance's relative error is about √(2/n) ≈ 0.16% (normal), less for uniform.
        Assert.InRange(actual / variance, 0.99, 1.01);
        Assert.InRange(mean, -0.01 * Math.Sqrt(variance), 0.01 * Math.Sqrt(variance));
        // Uniform within √(3·variance); the truncated normal within two of its standard deviations, √variance / 0.8796...
        double bound = uniform ? Math.Sqrt(3 * variance) : 2 * Math.Sqrt(variance) / 0.87962566103423978;
        Assert.True(maxAbs <= bound * (1 + 1e-6), $"{preset}: |w| up to {maxAbs}, beyond {bound}");
        Assert.True(maxAbs >= bound * 0.99, $"{preset}: |w| only up to {maxAbs}, the bound is {bound}");
    }

    [Fact]
    public void Variance_scaling_divides_by_the_fan_its_mode_names_and_untruncated_normals_go_beyond_two_deviations()
    {
        (_, double fanOut, _) = Moments(Kernel(Initializer.VarianceScaling(3f, FanMode.FanOut, InitializerDistribution.UntruncatedNormal)));
        Assert.InRange(fanOut / (3.0 / 1024), 0.99, 1.01);
        float[] values = Kernel(Initializer.VarianceScaling(1f, FanMode.FanIn, InitializerDistribution.UntruncatedNormal));
        double sigma = Math.Sqrt(1.0 / 784);
        // A normal puts 4.55% beyond 2σ and 0.27% beyond 3σ.
        Assert.InRange(values.Count(v => Math.Abs(v) > 2 * sigma) / (double)values.Length, 0.043, 0.048);
        Assert.InRange(values.Count(v => Math.Abs(v) > 3 * sigma) / (double)values.Length, 0.0022, 0.0032);
    }

    [Fact]
    public void Random_uniform_normal_and_truncated_normal_have_their_parameters()
    {
        float[] uniform = Kernel(Initializer.RandomUniform(-0.5f, 1.5f));
        Assert.All(uniform, v => Assert.InRange(v, -0.5f, 1.5f));
        (double mean, double variance, _) = Moments(uniform);
        Assert.InRange(mean, 0.49, 0.51);
        Assert.InRange(variance / (4.0 / 12), 0.99, 1.01);

        (mean, variance, _) = Moments(Kernel(Initializer.RandomNormal(0.25f, 0.1f)));
        Assert.InRange(mean, 0.2498, 0.2502);
        Assert.InRange(variance / 0.01, 0.99, 1.01);

        // Truncated at two deviations: the variance is 0.8796² of the untruncated one, and nothing is beyond ±0.2.
        float[] truncated = Kernel(Initializer.TruncatedNormal(-1f, 0.1f));
        (mean, variance, _) = Moments(truncated);
        Assert.InRange(mean, -1.0002, -0.9998);
        Assert.InRange(variance / (0.01 * 0.87962566103423978 * 0.87962566103423978), 0.99, 1.01);
        Assert.All(truncated, v => Assert.InRange(v, -1.2f, -0.8f));

        Assert.All(Kernel(Initializer.RandomNormal(3f, 0f), 5, 7), v => Assert.Equal(3f, v));
    }

    [Fact]
    public void Constants_and_the_identity_set_their_values()
    {
        Assert.All(Kernel(Initializer.Ones(), 5, 3), v => Assert.Equal(1f, v));
        Assert.All(Kernel(Initializer.Constant(-2.5f), 5, 3), v => Assert.Equal(-2.5f, v));
        Assert.All(Kernel(Initializer.Zeros(), 5, 3), v => Assert.Equal(0f, v));

        // Keras's Identity on a kernel that is not square: the gain where input index = unit index.
        Assert.Equal([2f, 0f, 0f, 0f, 2f, 0f], Kernel(Initializer.Identity(2f), 2, 3));
        Assert.Equal([1f, 0f, 0f, 1f, 0f, 0f], Kernel(Initializer.Identity(), 3, 2));
    }

    [Theory]
    [InlineData(60, 25, 1f)]
    [InlineData(25, 60, 1f)]
    [InlineData(40, 40, 2f)]
    public void Orthogonal_kernels_have_orthonormal_columns_or_rows_times_the_gain(int rows, int columns, float gain)
    {
        float[] w = Kernel(Initializer.Orthogonal(gain), rows, columns);
        // Columns orthonormal when rows ≥ columns (WᵀW = gain²·I), rows otherwise (WWᵀ = gain²·I).
        bool byColumns = rows >= columns;
        int count = byColumns ? columns : rows, length = byColumns ? rows : columns;
        double At(int vector, int i) => byColumns ? w[(i * columns) + vector] : w[(vector * columns) + i];
        for (int a = 0; a < count; a++)
        {
            for (int b = a; b < count; b++)
            {
                double dot = 0;
                for (int i = 0; i < length; i++)
                {
                    dot += At(a, i) * At(b, i);
                }

                Assert.True(Math.Abs(dot - (a == b ? gain * gain : 0)) < 1e-5 * gain * gain, $"vectors {a} and {b}: {dot}");
            }
        }

        Assert.Equal(w, Kernel(Initializer.Orthogonal(gain), rows, columns));
        Assert.NotEqual(w, Kernel(Initializer.Orthogonal(gain), rows, columns, seed: 8));
    }

    [Fact]
    public void An_orthogonal_kernel_too_large_to_decompose_soon_is_refused_before_any_work()
    {
        // 6,000 x 6,000 would take 4.3e11 multiply-adds: refused at once, naming the way out.
        var random = new Xoshiro128(1);
        var e = Assert.Throws<InvalidOperationException>(() => Fill(ref random));
        Assert.Contains("use a variance-scaling initializer", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new Dense(3) { BiasInitializer = Initializer.Orthogonal() });

        static void Fill(ref Xoshiro128 random) => Initializer.Orthogonal().Fill(new float[1], 6000, 6000, ref random, bias: false);
    }

    [Fact]
    public void A_bias_initializer_fills_the_bias_from_its_own_stream_and_leaves_the_kernel_as_it_was()
    {
        var plain = new Dense(64);
        plain.Build(100, 3);
        var ones = new Dense(64) { BiasInitializer = Initializer.Ones() };
        ones.Build(100, 3);
        var random = new Dense(64) { BiasInitializer = Initializer.RandomNormal(0f, 1f) };
        random.Build(100, 3);
        Assert.Equal(plain.Parameters.Span[..6400].ToArray(), ones.Parameters.Span[..6400].ToArray());
        Assert.Equal(plain.Parameters.Span[..6400].ToArray(), random.Parameters.Span[..6400].ToArray());
        Assert.All(ones.Parameters.Span[6400..].ToArray(), b => Assert.Equal(1f, b));
        float[] bias = random.Parameters.Span[6400..].ToArray();
        Assert.Equal(64, bias.Distinct().Count());

        // A variance-scaling bias takes its units as both fans (Keras's compute_fans for one axis): limit √(3/64).
        var lecun = new Dense(64) { BiasInitializer = Initializer.LecunUniform() };
        lecun.Build(100, 3);
        Assert.All(lecun.Parameters.Span[6400..].ToArray(), b => Assert.InRange(b, -MathF.Sqrt(3f / 64), MathF.Sqrt(3f / 64)));
        Assert.Contains(lecun.Parameters.Span[6400..].ToArray(), b => Math.Abs(b) > 0.15f);
    }

    [Fact]
    public void A_seed_gives_the_same_values_and_another_seed_others()
    {
        Initializer he = Initializer.HeNormal();
        Assert.Equal(Kernel(he, 50, 40, seed: 11), Kernel(he, 50, 40, seed: 11));
        Assert.NotEqual(Kernel(he, 50, 40, seed: 11), Kernel(he, 50, 40, seed: 12));

        // In a model: the same seed, the same weights, whatever the initializer's instance.
        Sequential Model() => new Sequential(20, seed: 5).Add(new Dense(30) { KernelInitializer = Initializer.HeNormal(), BiasInitializer = Initializer.Constant(0.1f) })
            .Add(new Relu()).Add(new Dense(3));
        Assert.Equal(Model().Parameters.ToArray(), Model().Parameters.ToArray());
    }

    [Fact]
    public void The_model_file_keeps_each_initializer_and_a_default_layers_config_is_unchanged()
    {
        Initializer[] kernels =
        [
            Initializer.VarianceScaling(0.5f, FanMode.FanOut, InitializerDistribution.UntruncatedNormal), Initializer.RandomUniform(-1f, 2f),
            Initializer.RandomNormal(0.5f, 0.2f), Initializer.TruncatedNormal(0f, 0.3f), Initializer.Constant(0.75f), Initializer.Identity(1.5f),
            Initializer.Orthogonal(0.5f),
        ];
        var model = new Sequential(6, seed: 2);
        foreach (Initializer kernel in kernels)
        {
            model.Add(new Dense(6) { KernelInitializer = kernel, BiasInitializer = Initializer.RandomUniform(0f, 0.5f) });
        }

        model.Add(new Dense(2));
        model.Compile(new SoftmaxCrossEntropy(), new Adam());
        string path = Path.Combine(_folder, "initializers.ncm");
        ModelFile.Save(model, path);
        Sequential loaded = ModelFile.Load(path);
        for (int i = 0; i < kernels.Length; i++)
        {
            var dense = (Dense)loaded.Layers[i];
            Assert.Equal(kernels[i].ToString(), dense.KernelInitializer.ToString());
            Assert.Equal("RandomUniform(0, 0.5)", dense.BiasInitializer.ToString());
        }

        Assert.Equal(model.Parameters.ToArray(), loaded.Parameters.ToArray());
        var last = (Dense)loaded.Layers[^1];
        Assert.Equal(("GlorotUniform()", "Constant(0)"), (last.KernelInitializer.ToString(), last.BiasInitializer.ToString()));

        var config = new ComponentConfig("Dense");
        new Dense(4).WriteConfig(config);
        Assert.DoesNotContain(config.Entries, e => e.Key.Contains("initializer", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("kernel", "variance_scaling", "kernel_initializer_scale (variance_scaling) is 0")]
    [InlineData("kernel", "glorot_uniform", "kernel_initializer is 'glorot_uniform'; expected variance_scaling")]
    [InlineData("bias", "identity", "bias_initializer is 'identity'; expected variance_scaling, random_uniform, random_normal, truncated_normal, constant.")]
    [InlineData("bias", "orthogonal", "bias_initializer is 'orthogonal'; expected variance_scaling")]
    [InlineData("kernel", "random_normal", "kernel_initializer_stddev (random_normal) is -1")]
    public void A_model_file_initializer_out_of_range_is_invalid_data_naming_the_entry(string prefix, string kind, string message)
    {
        string key = prefix + "_initializer";
        var config = new ComponentConfig("Dense").Set(key, kind).Set(key + "_scale", 0f).Set(key + "_mode", "fan_in")
            .Set(key + "_distribution", "uniform").Set(key + "_mean", 0f).Set(key + "_stddev", -1f).Set(key + "_gain", 1f);
        var e = Assert.Throws<InvalidDataException>(() => Initializer.Read(config, prefix, Initializer.Zeros()));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", e.Message, StringComparison.Ordinal);

        var mode = new ComponentConfig("Dense").Set("kernel_initializer", "variance_scaling").Set("kernel_initializer_scale", 1f)
            .Set("kernel_initializer_mode", "fan_sum").Set("kernel_initializer_distribution", "uniform");
        Assert.Contains("kernel_initializer_mode is 'fan_sum'", Assert.Throws<InvalidDataException>(() => Initializer.Read(mode, "kernel", Initializer.Zeros())).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Misuse_is_refused_by_name()
    {
        Assert.Equal("scale", Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.VarianceScaling(0f)).ParamName);
        Assert.Equal("scale", Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.VarianceScaling(float.PositiveInfinity)).ParamName);
        Assert.Equal("mode", Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.VarianceScaling(1f, (FanMode)7)).ParamName);
        Assert.Equal("distribution", Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.VarianceScaling(1f, FanMode.FanIn, (InitializerDistribution)9)).ParamName);
        Assert.Equal("maxValue", Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.RandomUniform(1f, 0f)).ParamName);
        Assert.Equal("maxValue", Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.RandomUniform(-3e38f, 3e38f)).ParamName);
        // The bounds are a pair: the message names both, so a minValue too large is found by its name.
        Assert.StartsWith("Expected maxValue at least minValue and within float's range of it. Received: minValue=3.4028235E+38, maxValue=0.5.",
            Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.RandomUniform(float.MaxValue, 0.5f)).Message, StringComparison.Ordinal);
        Assert.Equal("minValue", Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.RandomUniform(float.NaN)).ParamName);
        Assert.Equal("stdDev", Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.RandomNormal(0f, -0.1f)).ParamName);
        Assert.Equal("mean", Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.TruncatedNormal(float.NaN)).ParamName);
        Assert.Equal("value", Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.Constant(float.NegativeInfinity)).ParamName);
        Assert.Equal("gain", Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.Identity(float.NaN)).ParamName);
        Assert.Equal("gain", Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.Orthogonal(float.PositiveInfinity)).ParamName);

        Assert.Throws<ArgumentNullException>(() => new Dense(3) { KernelInitializer = null! });
        Assert.Contains("a bias is a vector", Assert.Throws<ArgumentException>(() => new Dense(3) { BiasInitializer = Initializer.Identity() }).Message, StringComparison.Ordinal);
        var built = new Dense(4, 3, seed: 1);
        var e = Assert.Throws<InvalidOperationException>(() => built.KernelInitializer = Initializer.HeNormal());
        Assert.Contains("set KernelInitializer before adding the layer to a model", e.Message, StringComparison.Ordinal);
        Assert.Equal("GlorotUniform()", built.KernelInitializer.ToString());
    }

    [Fact]
    public void Initializers_whose_values_would_pass_floats_range_are_refused_or_kept_finite()
    {
        // 3·scale overflowed float: the limit was infinite and the kernel ±infinity (NaN where 2u - 1 = 0).
        float[] huge = Kernel(Initializer.VarianceScaling(float.MaxValue, FanMode.FanIn, InitializerDistribution.Uniform), 3, 4);
        Assert.All(huge, v => Assert.True(float.IsFinite(v), $"{v} is not finite"));
        Assert.Contains(huge, v => Math.Abs(v) > 1e18f);

        // A normal's values beyond float's range were drawn as infinities.
        Assert.Equal("stdDev", Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.RandomNormal(0f, 1e38f)).ParamName);
        Assert.Equal("stdDev", Assert.Throws<ArgumentOutOfRangeException>(() => Initializer.TruncatedNormal(3e38f, 1e38f)).ParamName);
        Assert.All(Kernel(Initializer.TruncatedNormal(0f, 1e38f), 30, 40), v => Assert.True(float.IsFinite(v), $"{v} is not finite"));
        var forged = new ComponentConfig("Dense").Set("kernel_initializer", "random_normal").Set("kernel_initializer_mean", 0f)
            .Set("kernel_initializer_stddev", 1e38f);
        Assert.Contains("kernel_initializer_stddev (random_normal) is 1E+38", Assert.Throws<InvalidDataException>(() => Initializer.Read(forged, "kernel", Initializer.Zeros())).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1e-44f)]
    [InlineData(1e-42f)]
    [InlineData(1e-40f)]
    public void A_tiny_variance_scaling_scale_still_draws_uniform_values_up_to_its_limit(float scale)
    {
        // 3·scale/n below float's normal range: the limit was the square root of a subnormal (a few digits) or of 0
        // (1e-44: a kernel of zeros), though the limit itself, about 6e-24 there, is a normal float.
        float[] values = Kernel(Initializer.VarianceScaling(scale, FanMode.FanIn, InitializerDistribution.Uniform), 784, 100);
        double limit = Math.Sqrt(3.0 * scale / 784);
        double maxAbs = values.Max(v => Math.Abs((double)v));
        Assert.InRange(maxAbs, 0.999 * limit, limit * (1 + 1e-6));
    }

    [Fact]
    public void A_layer_refused_an_orthogonal_kernel_stays_unbuilt_and_takes_another_initializer()
    {
        // The refusal came from the draws, after the layer had allocated its parameters and taken its input size:
        // setting another initializer was then refused as if the layer were built.
        var model = new Sequential(8200, seed: 1);
        var dense = new Dense(1024) { KernelInitializer = Initializer.Orthogonal() };
        Assert.Throws<InvalidOperationException>(() => model.Add(dense));
        Assert.False(dense.IsBuilt);
        dense.KernelInitializer = Initializer.HeNormal();
        model.Add(dense);
        Assert.Equal(8200 * 1024 + 1024, dense.ParameterCount);
        Assert.Null(Layer.t_fromFile);
    }

    [Fact]
    public void A_relu_network_started_with_he_normal_trains()
    {
        (float[] x, int[] y) = FitTests.Blobs(300, 4);
        var model = new Sequential(2, seed: 9).Add(new Dense(32) { KernelInitializer = Initializer.HeNormal() }).Add(new Relu())
            .Add(new Dense(4) { KernelInitializer = Initializer.LecunNormal() });
        model.Compile(new SoftmaxCrossEntropy(), new Adam(0.01f));
        model.Fit(x, y, new FitOptions { Epochs = 20, BatchSize = 32 });
        Assert.True(model.Evaluate(x, y, y.Length).Accuracy > 0.9, "He-normal ReLU layers learn the blobs");
    }
}
