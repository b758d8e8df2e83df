using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralCore.Data;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Onnx.Schema;
using NeuralCore.Optimizers;
using NeuralCore.Training;

namespace NeuralCore.Onnx.Tests;

/// <summary>Exported graphs run in ONNX Runtime, an independent implementation, and must give what Predict gives.</summary>
public class OnnxExportTests
{
    private const float Tolerance = 1e-5f;

    /// <summary>Runs an exported model in ONNX Runtime on one thread.</summary>
    internal static float[] Run(byte[] onnx, float[] inputs, int count, int features, string inputName = "input")
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(onnx, options);
        var tensor = new DenseTensor<float>(inputs, [count, features]);
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, tensor)]);
        return [.. results.Single().AsEnumerable<float>()];
    }

    internal static void AssertClose(float[] expected, float[] actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        int worst = 0;
        for (int i = 1; i < expected.Length; i++)
        {
            worst = Math.Abs(expected[i] - actual[i]) > Math.Abs(expected[worst] - actual[worst]) ? i : worst;
        }

        float error = Math.Abs(expected[worst] - actual[worst]);
        Assert.True(error <= tolerance * Math.Max(1, Math.Abs(expected[worst])),
            $"{what}: ONNX Runtime gives {actual[worst]} at [{worst}], NeuralCore {expected[worst]} (error {error}).");
    }

    [Fact]
    public void A_trained_mnist_model_matches_onnx_runtime_on_1000_test_images()
    {
        string folder = MnistLocator.FindRepositoryCopy(MnistLocator.DefaultSearchStarts)
            ?? throw new InvalidOperationException("The repository copy of MNIST (data/mnist) was not found.");
        MnistDataset mnist = Mnist.Load(folder);
        var model = new Sequential(784, seed: 7).Add(new Dense(128)).Add(new Relu()).Add(new Dropout(0.2f)).Add(new Dense(10));
        model.Compile(new SoftmaxCrossEntropy(), new Adam());
        model.Fit(mnist.Train.Slice(0, 12_000), new FitOptions { Epochs = 1, BatchSize = 64 });

        Dataset test = mnist.Test.Slice(0, 1000);
        float[] inputs = test.Features;
        float[] expected = model.Predict(test);
        float[] actual = Run(model.ToOnnx(), inputs, 1000, 784);
        AssertClose(expected, actual, Tolerance, "MNIST probabilities");
        int[] ours = model.PredictClasses(test, 1000);
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(ours[i], Array.IndexOf(actual, actual.AsSpan(i * 10, 10).ToArray().Max(), i * 10) - (i * 10));
        }
    }

    public static TheoryData<string> LayerCases => [.. Cases.Keys];

    internal static readonly Dictionary<string, Func<ILayer[]>> Cases = new()
    {
        ["dense linear"] = () => [new Dense(7)],
        ["dense without bias"] = () => [new Dense(7, useBias: false)],
        ["dense relu"] = () => [new Dense(7, Activation.Relu)],
        ["dense sigmoid"] = () => [new Dense(7, Activation.Sigmoid)],
        ["dense tanh"] = () => [new Dense(7, Activation.Tanh)],
        ["dense softmax"] = () => [new Dense(7, Activation.Softmax)],
        ["relu"] = () => [new Dense(9), new Relu()],
        ["relu max_value"] = () => [new Dense(9), new Relu { MaxValue = 0.5f }],
        ["relu negative_slope"] = () => [new Dense(9), new Relu { NegativeSlope = 0.1f }],
        ["relu threshold"] = () => [new Dense(9), new Relu { Threshold = 0.2f }],
        ["relu all options"] = () => [new Dense(9), new Relu { MaxValue = 0.8f, NegativeSlope = 0.05f, Threshold = 0.1f }],
        ["relu max_value at threshold"] = () => [new Dense(9), new Relu { MaxValue = 0.3f, NegativeSlope = 0.05f, Threshold = 0.3f }],
        ["leaky relu"] = () => [new Dense(9), new LeakyRelu(0.2f)],
        ["prelu"] = () => [new Dense(9), new PRelu()],
        ["prelu shared"] = () => [new Dense(9), new PRelu(sharedAlpha: true), new Dense(3)],
        ["sigmoid"] = () => [new Dense(9), new Sigmoid()],
        ["tanh"] = () => [new Dense(9), new Tanh()],
        ["gelu exact"] = () => [new Dense(9), new Gelu()],
        ["gelu tanh"] = () => [new Dense(9), new Gelu(approximate: true)],
        ["elu"] = () => [new Dense(9), new Elu()],
        ["elu alpha"] = () => [new Dense(9), new Elu(0.3f)],
        ["selu"] = () => [new Dense(9), new Selu()],
        ["silu"] = () => [new Dense(9), new Silu()],
        ["softplus"] = () => [new Dense(9), new Softplus()],
        ["softsign"] = () => [new Dense(9), new Softsign()],
        ["hard sigmoid"] = () => [new Dense(9), new HardSigmoid()],
        ["hard silu"] = () => [new Dense(9), new HardSilu()],
        ["mish"] = () => [new Dense(9), new Mish()],
        ["batch normalization"] = () => [new Dense(9), new BatchNormalization(0.9f, 0.01f), new Relu(), new Dense(4)],
        ["layer normalization"] = () => [new Dense(9), new LayerNormalization(0.01f), new Relu(), new Dense(4)],
        ["layer normalization without center"] = () => [new Dense(9), new LayerNormalization(center: false), new Dense(4)],
        ["layer normalization without scale"] = () => [new Dense(9), new LayerNormalization(scale: false), new Dense(4)],
        ["normalization"] = () => [new Normalization([0.5f, -1f, 2f, 0f, 3f, -2f], [4f, 0.25f, 0f, 1f, 9f, 0.01f]), new Dense(9), new Relu(), new Dense(3)],
        ["normalization inverted"] = () => [new Dense(9), new Normalization([0.5f], [2.25f], invert: true), new Dense(3)],
        ["rescaling"] = () => [new Rescaling(1f / 255), new Dense(9), new Relu(), new Dense(3)],
        ["rescaling offset"] = () => [new Dense(9), new Rescaling(0.5f, offset: -1f, name: "halve"), new Dense(3)],
        ["softmax"] = () => [new Dense(9), new Softmax()],
        ["dropout"] = () => [new Dense(9), new Dropout(0.5f), new Dense(3)],
        ["noise layers"] = () => [new GaussianNoise(0.2f), new Dense(9), new GaussianDropout(0.3f), new Selu(), new AlphaDropout(0.1f), new Dense(3)],
        ["deep"] = () => [new Dense(16), new Relu(), new Dense(12, Activation.Tanh), new Gelu(), new Dense(5)],
    };

    [Fact]
    public void Every_layer_the_library_ships_has_an_export_case()
    {
        // An exporter missing for a new layer was found only when someone exported a model holding it.
        HashSet<Type> exported = [.. Cases.Values.SelectMany(make => make()).Select(layer => layer.GetType())];
        Type[] shipped = [.. typeof(Layer).Assembly.GetExportedTypes().Where(t => t.IsSubclassOf(typeof(Layer)) && !t.IsAbstract)];
        Assert.True(shipped.Length >= 20, $"only {shipped.Length} layer types found: the search is broken");
        Assert.All(shipped, type => Assert.Contains(type, exported));
    }

    [Theory]
    [MemberData(nameof(LayerCases))]
    public void Every_layer_matches_onnx_runtime(string name)
    {
        var model = new Sequential(6, seed: 11);
        foreach (ILayer layer in Cases[name]())
        {
            model.Add(layer);
        }

        // Weights large enough that every activation sees both signs and, for ReLU's options, both sides of its limits.
        var random = new Random(5);
        Span<float> parameters = model.Parameters.Span;
        for (int i = 0; i < parameters.Length; i++)
        {
            parameters[i] = (float)((random.NextDouble() * 2) - 1);
        }

        const int Count = 64;
        float[] inputs = [.. Enumerable.Range(0, Count * 6).Select(_ => (float)((random.NextDouble() * 4) - 2))];
        float[] expected = new float[Count * model.OutputSize];
        model.Infer(inputs, expected, Count);
        AssertClose(expected, Run(model.ToOnnx(), inputs, Count, 6), Tolerance, name);
    }

    [Fact]
    public void Batch_normalization_exports_and_imports_its_running_statistics()
    {
        var model = new Sequential(6, seed: 4).Add(new Dense(8)).Add(new BatchNormalization(0.5f, 0.01f)).Add(new Dense(3));
        var normalization = (BatchNormalization)model.Layers[1];
        for (int j = 0; j < 8; j++)
        {
            // Far from their starting 0 and 1, so that an export of the wrong tensors, or of none, shows.
            normalization.MovingMean.Span[j] = j - 3.5f;
            normalization.MovingVariance.Span[j] = 0.25f * (j + 1);
            normalization.Parameters.Span[j] = 1f + (0.1f * j);
            normalization.Parameters.Span[8 + j] = 0.5f - (0.05f * j);
        }

        var random = new Random(8);
        float[] inputs = [.. Enumerable.Range(0, 16 * 6).Select(_ => (float)((random.NextDouble() * 4) - 2))];
        float[] expected = new float[16 * 3];
        model.Infer(inputs, expected, 16);
        byte[] onnx = model.ToOnnx();
        AssertClose(expected, Run(onnx, inputs, 16, 6), Tolerance, "batch normalization");

        Sequential imported = OnnxImport.FromOnnx(onnx, "bn.onnx");
        var read = (BatchNormalization)imported.Layers[1];
        Assert.Equal((0.5f, 0.01f), (read.Momentum, read.Epsilon));
        Assert.Equal(normalization.MovingMean.ToArray(), read.MovingMean.ToArray());
        Assert.Equal(normalization.MovingVariance.ToArray(), read.MovingVariance.ToArray());
        Assert.Equal(normalization.Parameters.ToArray(), read.Parameters.ToArray());
        float[] again = new float[16 * 3];
        imported.Infer(inputs, again, 16);
        Assert.Equal(expected, again);
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void Layer_normalization_exports_at_opset_17_and_imports_its_parameters(bool center, bool scale)
    {
        var model = new Sequential(6, seed: 4).Add(new Dense(8)).Add(new LayerNormalization(0.02f, center, scale, name: "norm")).Add(new Dense(3));
        Span<float> parameters = model.Layers[1].Parameters.Span;
        for (int j = 0; j < parameters.Length; j++)
        {
            // Far from their starting 1 and 0, so that an export of the wrong tensors, or of none, shows.
            parameters[j] = 0.5f + (0.1f * j);
        }

        var random = new Random(9);
        float[] inputs = [.. Enumerable.Range(0, 16 * 6).Select(_ => (float)((random.NextDouble() * 4) - 2))];
        float[] expected = new float[16 * 3];
        model.Infer(inputs, expected, 16);
        byte[] onnx = model.ToOnnx();
        ModelProto proto = ModelProto.Parser.ParseFrom(onnx);
        Assert.Equal(17, proto.OpsetImport.Single().Version);
        NodeProto node = proto.Graph.Node.Single(n => n.OpType == "LayerNormalization");
        Assert.Equal(center ? 3 : 2, node.Input.Count);
        AssertClose(expected, Run(onnx, inputs, 16, 6), Tolerance, "layer normalization");

        Sequential imported = OnnxImport.FromOnnx(onnx, "ln.onnx");
        var read = (LayerNormalization)imported.Layers[1];
        Assert.Equal((0.02f, center, true, "norm"), (read.Epsilon, read.Center, read.Scale, read.Name));
        float[] again = new float[16 * 3];
        imported.Infer(inputs, again, 16);
        Assert.Equal(expected, again);

        // A model without one stays at opset 13.
        Assert.Equal(13, ModelProto.Parser.ParseFrom(new Sequential(6).Add(new Dense(3)).ToOnnx()).OpsetImport.Single().Version);
    }

    public static TheoryData<string> ActivationCases => [.. InfinityCases.Keys];

    private static readonly Dictionary<string, Func<ILayer>> InfinityCases = new()
    {
        ["relu"] = () => new Relu(),
        ["relu max_value"] = () => new Relu { MaxValue = 0.5f },
        ["relu negative_slope"] = () => new Relu { NegativeSlope = 0.1f },
        ["relu threshold"] = () => new Relu { Threshold = 0.2f },
        ["relu threshold max_value"] = () => new Relu { Threshold = 0.2f, MaxValue = 0.8f },
        ["relu all options"] = () => new Relu { MaxValue = 0.8f, NegativeSlope = 0.05f, Threshold = 0.1f },
        ["leaky relu"] = () => new LeakyRelu(0.2f),
        ["leaky relu slope 0"] = () => new LeakyRelu(0f),
        ["prelu"] = () => new PRelu(0.25f),
        ["prelu shared"] = () => new PRelu(-0.5f, sharedAlpha: true),
        ["sigmoid"] = () => new Sigmoid(),
        ["tanh"] = () => new Tanh(),
        ["gelu exact"] = () => new Gelu(),
        ["gelu tanh"] = () => new Gelu(approximate: true),
        ["elu"] = () => new Elu(0.3f),
        ["selu"] = () => new Selu(),
        ["silu"] = () => new Silu(),
        ["softplus"] = () => new Softplus(),
        ["softsign"] = () => new Softsign(),
        ["hard sigmoid"] = () => new HardSigmoid(),
        ["hard silu"] = () => new HardSilu(),
        ["mish"] = () => new Mish(),
    };

    [Theory]
    [MemberData(nameof(ActivationCases))]
    public void Activations_agree_with_onnx_runtime_at_the_infinities(string name)
    {
        // Infinities reach an activation only from a diverged layer below it, but an exported graph should still
        // give what the library gives there: a slope of 0 written as a product gave 0·(−∞) = NaN in ONNX Runtime
        // where the library gives 0.
        // The layer computes the expectation itself: prediction refuses infinite inputs.
        ILayer layer = InfinityCases[name]();
        var model = new Sequential(4).Add(layer);
        float[] inputs = [float.NegativeInfinity, float.PositiveInfinity, -float.MaxValue, float.MaxValue];
        float[] expected = new float[4];
        layer.Forward(inputs, expected, 1, training: false);
        float[] actual = Run(model.ToOnnx(), inputs, 1, 4);
        for (int i = 0; i < 4; i++)
        {
            Assert.True(expected[i].Equals(actual[i]) || Math.Abs(expected[i] - actual[i]) <= Tolerance * Math.Abs(expected[i]),
                $"{name} at {inputs[i]}: ONNX Runtime gives {actual[i]}, NeuralCore {expected[i]}.");
        }
    }

    [Fact]
    public void The_loss_decides_the_last_activation_unless_raw_outputs_are_asked_for()
    {
        var model = new Sequential(4, seed: 3).Add(new Dense(1));
        model.Compile(new BinaryCrossentropy(fromLogits: true), new Adam());
        float[] inputs = [0.5f, -1f, 2f, 0.1f, -0.3f, 0.7f, -2f, 1.5f];
        float[] probabilities = model.Predict(new Dataset(inputs, new int[2], 4));
        AssertClose(probabilities, Run(model.ToOnnx(), inputs, 2, 4), Tolerance, "sigmoid of the logits");

        float[] raw = new float[2];
        model.Infer(inputs, raw, 2);
        AssertClose(raw, Run(model.ToOnnx(new OnnxExportOptions { IncludeLossActivation = false }), inputs, 2, 4), Tolerance, "raw logits");

        // A loss on probabilities adds nothing: the softmax layer is already in the graph.
        var mse = new Sequential(4, seed: 3).Add(new Dense(3)).Add(new Softmax());
        mse.Compile(new MeanSquaredError(), new Adam());
        float[] softmax = new float[6];
        mse.Infer(inputs, softmax, 2);
        AssertClose(softmax, Run(mse.ToOnnx(new OnnxExportOptions { InputName = "pixels", OutputName = "probabilities" }), inputs, 2, 4, "pixels"), Tolerance, "softmax layer");

        // Every regression and margin loss predicts the outputs themselves (Huber and LogCosh were refused as unknown
        // losses); the focal losses from logits apply their squashing as the plain cross-entropies do.
        ILoss[] losses =
        [
            new MeanAbsoluteError(), new Huber(0.5f), new LogCosh(), new MeanSquaredLogarithmicError(), new MeanAbsolutePercentageError(),
            new CosineSimilarity(), new Hinge(), new SquaredHinge(), new CategoricalHinge(),
        ];
        foreach (ILoss loss in losses)
        {
            var regression = new Sequential(4, seed: 3).Add(new Dense(2));
            regression.Compile(loss, new Adam());
            float[] values = new float[4];
            regression.Infer(inputs, values, 2);
            AssertClose(values, Run(regression.ToOnnx(), inputs, 2, 4), Tolerance, loss.Name);
        }

        foreach (ILoss loss in new ILoss[] { new BinaryFocalCrossentropy(fromLogits: true), new CategoricalFocalCrossentropy(fromLogits: true) })
        {
            var focal = new Sequential(4, seed: 3).Add(new Dense(2));
            focal.Compile(loss, new Adam());
            AssertClose(focal.Predict(new Dataset(inputs, new int[2], 4)), Run(focal.ToOnnx(), inputs, 2, 4), Tolerance, loss.Name);
        }
    }

    [Fact]
    public void Saved_files_are_whole_and_bad_requests_are_named()
    {
        var model = new Sequential(3, seed: 1).Add(new Dense(2));
        string path = Path.Combine(Path.GetTempPath(), $"neuralcore-{Guid.NewGuid():N}.onnx");
        try
        {
            model.SaveOnnx(path);
            float[] expected = new float[2];
            model.Infer([1f, 2f, 3f], expected, 1);
            AssertClose(expected, Run(File.ReadAllBytes(path), [1f, 2f, 3f], 1, 3), Tolerance, "saved file");
            Assert.Empty(Directory.GetFiles(Path.GetTempPath(), $".{Path.GetFileName(path)}*"));
        }
        finally
        {
            File.Delete(path);
        }

        Assert.Throws<ArgumentException>(() => new Sequential(3).ToOnnx());
        Assert.Throws<ArgumentException>(() => model.ToOnnx(new OnnxExportOptions { InputName = "x", OutputName = "x" }));
        Assert.Throws<ArgumentException>(() => model.ToOnnx(new OnnxExportOptions { InputName = "" }));
        Assert.Throws<DirectoryNotFoundException>(() => model.SaveOnnx(Path.Combine(Path.GetTempPath(), "no-such-folder-" + Guid.NewGuid().ToString("N"), "m.onnx")));
    }

    [Fact]
    public void A_layer_named_like_the_output_node_gets_another_name()
    {
        // The final Identity node was named "output/Identity" without reserving it: a Dropout of that name made two
        // nodes of one name, which ONNX Runtime refuses.
        var model = new Sequential(4, seed: 1).Add(new Dense(3)).Add(new Dropout(0.1f, name: "output/Identity"));
        byte[] onnx = model.ToOnnx();
        ModelProto proto = ModelProto.Parser.ParseFrom(onnx);
        Assert.Equal(proto.Graph.Node.Count, proto.Graph.Node.Select(n => n.Name).Distinct().Count());
        float[] expected = new float[3];
        model.Infer([1f, 2f, 3f, 4f], expected, 1);
        AssertClose(expected, Run(onnx, [1f, 2f, 3f, 4f], 1, 4), Tolerance, "a layer named output/Identity");
    }

    [Fact]
    public void A_model_too_large_for_an_onnx_file_is_refused_before_anything_is_built()
    {
        // 300 M parameters (1.2 GB, over the 1 GiB OnnxImport.Load reads; 2.3 GB threw OverflowException from protobuf),
        // claimed by a layer that holds none of them.
        var model = new Sequential(4).Add(new Claiming(300_000_000));
        var ex = Assert.Throws<NotSupportedException>(() => model.ToOnnx());
        Assert.Contains("needs at least 1,200,000,000 bytes as ONNX, more than the 1,073,741,824", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>A layer that claims parameters without holding them, for size checks that must come first.</summary>
    private sealed class Claiming(int parameters) : ILayer
    {
        public string Name { get; set; } = "claiming";

        public string TypeId => "Claiming";

        public bool IsBuilt { get; private set; }

        public int InputSize { get; private set; }

        public int OutputSize => InputSize;

        public int ParameterCount => parameters;

        public Memory<float> Parameters => Memory<float>.Empty;

        public Memory<float> Gradients => Memory<float>.Empty;

        public void WriteConfig(NeuralCore.Configuration.ComponentConfig config)
        {
        }

        public void Build(int inputSize, ulong seed) => (InputSize, IsBuilt) = (inputSize, true);

        public void BindParameters(Memory<float> parameters, Memory<float> gradients) => throw new NotSupportedException("never compiled");

        public void Forward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training) => throw new NotSupportedException("never run");

        public void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch) =>
            throw new NotSupportedException("never run");
    }

    [Fact]
    public void A_layer_of_your_own_needs_a_registered_exporter()
    {
        var model = new Sequential(3, seed: 1).Add(new Dense(2)).Add(new Doubling());
        var ex = Assert.Throws<NotSupportedException>(() => model.ToOnnx());
        Assert.Contains("Layer 'doubling' of type Doubling has no ONNX exporter", ex.Message, StringComparison.Ordinal);

        OnnxExport.Register<Doubling>((layer, graph, input) => graph.AddNode("Mul", layer.Name, [input, graph.AddScalar(layer.Name + "/two", 2f)]));
        float[] inputs = [0.5f, -1f, 2f];
        float[] expected = new float[2];
        model.Infer(inputs, expected, 1);
        AssertClose(expected, Run(model.ToOnnx(), inputs, 1, 3), Tolerance, "registered exporter");
    }

    /// <summary>y = 2x: a layer the library does not know.</summary>
    private sealed class Doubling() : Layer(null)
    {
        public override string DefaultName => "doubling";

        public override string TypeId => "Test.Doubling";

        protected override int OnBuild(int inputSize) => inputSize;

        protected override void OnForward(ReadOnlySpan<float> input, Span<float> output, int batch, bool training)
        {
            for (int i = 0; i < batch * InputSize; i++)
            {
                output[i] = 2 * input[i];
            }
        }

        protected override void OnBackward(ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGrad, Span<float> inputGrad, int batch)
        {
            for (int i = 0; i < batch * InputSize; i++)
            {
                inputGrad[i] = 2 * outputGrad[i];
            }
        }
    }
}
