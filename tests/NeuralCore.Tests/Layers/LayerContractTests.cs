using NeuralCore.Layers;
using NeuralCore.Models;
using NeuralCore.Tests.Kernels;

namespace NeuralCore.Tests.Layers;

/// <summary>The contract every layer passes: sizes, parameter count, pure forward, accumulating backward.</summary>
public class LayerContractTests
{
    private const int Inputs = 7, Outputs = 5, Batch = 3;

    [Fact]
    public void Every_layer_the_library_ships_is_in_the_factory()
    {
        // The factory is the list the contract and gradient tests run over, kept by hand: a layer added to the library
        // without an entry there was checked by none of them.
        HashSet<Type> made = [.. LayerFactory.Names().Select<object[], Type>(row => LayerFactory.Create((string)row[0], Inputs, Outputs, 1).GetType())];
        Type[] shipped = [.. typeof(Layer).Assembly.GetExportedTypes().Where(t => t.IsSubclassOf(typeof(Layer)) && !t.IsAbstract)];
        Assert.True(shipped.Length >= 20, $"only {shipped.Length} layer types found: the search is broken");
        Assert.All(shipped, type => Assert.Contains(type, made));
    }

    [Theory]
    [MemberData(nameof(LayerFactory.Names), MemberType = typeof(LayerFactory))]
    public void Sizes_and_parameter_storage_are_consistent(string name)
    {
        LayerSpec spec = LayerFactory.Spec(name);
        ILayer layer = spec.Create(Inputs, Outputs, 1);
        Assert.True(layer.IsBuilt);
        Assert.Equal(Inputs, layer.InputSize);
        Assert.Equal(spec.ExpectedOutputs(Inputs, Outputs), layer.OutputSize);
        Assert.Equal(spec.ExpectedParameters(Inputs, Outputs), layer.ParameterCount);
        Assert.Equal(layer.ParameterCount, layer.Parameters.Length);
        Assert.Equal(layer.ParameterCount, layer.Gradients.Length);
    }

    // The layers that keep state per input feature, by the size constructor and unbuilt.
    public static TheoryData<string> FeatureStateLayers => ["BatchNormalization", "LayerNormalization", "Normalization", "PRelu"];

    private static ILayer FeatureStateLayer(string name, int size) => name switch
    {
        "BatchNormalization" => size > 0 ? new BatchNormalization(size) : new BatchNormalization(),
        "LayerNormalization" => size > 0 ? new LayerNormalization(size) : new LayerNormalization(),
        "Normalization" => size > 0 ? new Normalization(size) : new Normalization(),
        _ => size > 0 ? new PRelu(size) : new PRelu(),
    };

    [Theory]
    [MemberData(nameof(FeatureStateLayers))]
    public void Per_feature_state_too_large_for_an_array_or_the_memory_is_refused_by_name_before_allocating(string name)
    {
        // Built for 2³¹ - 1 features these threw OverflowException (LayerNormalization) or OutOfMemoryException.
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => FeatureStateLayer(name, int.MaxValue));
        Assert.Contains($"({name}) over 2,147,483,647 features needs an array of", e.Message, StringComparison.Ordinal);
        Assert.Contains("more than one array holds", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sequential(int.MaxValue).Add(FeatureStateLayer(name, 0)));
        // Built by a constructor, the refusal names its size, not Build's inputSize (PublicApiMisuseTests).
        Assert.Equal("size", e.ParamName);

        // 100 million features fit an array; their state (4-48 bytes each) does not fit a 100 MB figure.
        Check.AvailableMemoryOverride.Value = 100L << 20;
        try
        {
            var memory = Assert.Throws<InsufficientMemoryException>(() => new Sequential(100_000_000).Add(FeatureStateLayer(name, 0)));
            Assert.Contains($"({name}) over 100,000,000 features needs", memory.Message, StringComparison.Ordinal);
            Assert.Contains("more than the 100 MiB this process may use; give it fewer features.", memory.Message, StringComparison.Ordinal);
        }
        finally
        {
            Check.AvailableMemoryOverride.Value = 0;
        }
    }

    [Theory]
    [MemberData(nameof(LayerFactory.Names), MemberType = typeof(LayerFactory))]
    public void Forward_leaves_its_input_untouched(string name)
    {
        ILayer layer = LayerFactory.Create(name, Inputs, Outputs, 1);
        float[] input = Seeded.Uniform(Batch * Inputs, 2);
        float[] copy = (float[])input.Clone();
        float[] output = new float[Batch * layer.OutputSize];
        layer.Forward(input, output, Batch, training: true);
        Assert.Equal(copy, input);
        layer.Forward(input, output, Batch, training: false);
        Assert.Equal(copy, input);
    }

    [Theory]
    [MemberData(nameof(LayerFactory.Names), MemberType = typeof(LayerFactory))]
    public void Two_backward_passes_double_the_parameter_gradients_and_overwrite_the_input_gradient(string name)
    {
        ILayer layer = LayerFactory.Create(name, Inputs, Outputs, 1);
        float[] input = Seeded.Uniform(Batch * Inputs, 2);
        float[] output = new float[Batch * layer.OutputSize];
        float[] outputGrad = Seeded.Uniform(Batch * layer.OutputSize, 3);
        layer.Forward(input, output, Batch, training: true);

        layer.Gradients.Span.Clear();
        float[] first = Enumerable.Repeat(99f, Batch * Inputs).ToArray();
        layer.Backward(input, output, outputGrad, first, Batch);
        float[] once = layer.Gradients.ToArray();
        float[] second = Enumerable.Repeat(-7f, Batch * Inputs).ToArray();
        layer.Backward(input, output, outputGrad, second, Batch);

        Assert.Equal(first, second);
        float[] twice = layer.Gradients.ToArray();
        for (int i = 0; i < once.Length; i++)
        {
            Assert.Equal(2 * once[i], twice[i], 1e-5f * Math.Max(1f, Math.Abs(twice[i])));
        }
    }

    [Theory]
    [MemberData(nameof(LayerFactory.Names), MemberType = typeof(LayerFactory))]
    public void Short_buffers_are_rejected_with_the_shape(string name)
    {
        ILayer layer = LayerFactory.Create(name, Inputs, Outputs, 1);
        var ex = Assert.Throws<ArgumentException>(() =>
            layer.Forward(new float[(Batch * Inputs) - 1], new float[Batch * layer.OutputSize], Batch, training: false));
        Assert.Equal("input", ex.ParamName);
        Assert.Contains($"[batch={Batch}, {Inputs}]", ex.Message, StringComparison.Ordinal);
        var outEx = Assert.Throws<ArgumentException>(() =>
            layer.Forward(new float[Batch * Inputs], new float[1], Batch, training: false));
        Assert.Equal("output", outEx.ParamName);
    }

    [Theory]
    [MemberData(nameof(LayerFactory.Names), MemberType = typeof(LayerFactory))]
    public void Batch_zero_is_a_no_op(string name)
    {
        ILayer layer = LayerFactory.Create(name, Inputs, Outputs, 1);
        layer.Forward([], [], 0, training: true);
        layer.Backward([], [], [], [], 0);
        Assert.All(layer.Gradients.ToArray(), g => Assert.Equal(0f, g));
    }

    [Theory]
    [MemberData(nameof(LayerFactory.Names), MemberType = typeof(LayerFactory))]
    public void The_config_rebuilds_an_equal_layer(string name)
    {
        ILayer layer = LayerFactory.Create(name, Inputs, Outputs, 1);
        var config = new Configuration.ComponentConfig(layer.TypeId);
        layer.WriteConfig(config);
        ILayer rebuilt = Configuration.ComponentRegistry.CreateLayer(config);
        rebuilt.Build(Inputs, 1);
        Assert.Equal(layer.GetType(), rebuilt.GetType());
        Assert.Equal(layer.OutputSize, rebuilt.OutputSize);
        Assert.Equal(layer.ParameterCount, rebuilt.ParameterCount);

        // Same settings: the same function of the same parameters and state (a normalization's statistics), as a model
        // file restores them.
        layer.Parameters.Span.CopyTo(rebuilt.Parameters.Span);
        if (layer is Layer own)
        {
            var state = new Configuration.ComponentConfig(layer.TypeId);
            own.WriteState(state);
            ((Layer)rebuilt).ReadState(state);
        }

        float[] input = Seeded.Uniform(Batch * Inputs, 4, 2f);
        float[] expected = new float[Batch * layer.OutputSize], actual = new float[expected.Length];
        layer.Forward(input, expected, Batch, training: false);
        rebuilt.Forward(input, actual, Batch, training: false);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void A_size_given_to_a_constructor_is_refused_under_that_name_and_one_given_to_build_under_its_own()
    {
        // The constructors build the layer; their refusal had named Build's inputSize, which their callers never wrote.
        Assert.Equal("size", Assert.Throws<ArgumentOutOfRangeException>(() => new Relu(0)).ParamName);
        Assert.Equal("size", Assert.Throws<ArgumentOutOfRangeException>(() => new Dropout(-1, 0.5f, seed: 1)).ParamName);
        Assert.StartsWith("Expected a positive input size. Received: size=-2.",
            Assert.Throws<ArgumentOutOfRangeException>(() => new Sigmoid(-2)).Message, StringComparison.Ordinal);
        Assert.Equal("inputSize", Assert.Throws<ArgumentOutOfRangeException>(() => new Relu().Build(0, seed: 1)).ParamName);
    }
    [Fact]
    public void A_subclass_reporting_a_negative_size_is_refused_by_name()
    {
        // OnBuild returning -1 passed Add and Compile, and Predict failed with an OverflowException; a ParameterCount
        // of -1 failed in Build with one.
        var model = new NeuralCore.Models.Sequential(3, seed: 1);
        var output = Assert.Throws<InvalidOperationException>(() => model.Add(new Sized(-1, 0)));
        Assert.Contains("gave an output size of -1 for 3 inputs", output.Message, StringComparison.Ordinal);
        var parameters = Assert.Throws<InvalidOperationException>(() => model.Add(new Sized(2, -1)));
        Assert.Contains("reports -1 parameters", parameters.Message, StringComparison.Ordinal);
        Assert.Equal(3, model.Add(new Sized(3, 0)).OutputSize);
    }

    private sealed class Sized(int outputs, int parameters) : Layer("sized")
    {
        public override string DefaultName => "sized";

        public override string TypeId => "Sized";

        public override int ParameterCount => parameters;

        protected override int OnBuild(int inputSize) => outputs;

        protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) => output.Clear();

        protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch) =>
            inputGrad.Clear();
    }
}
