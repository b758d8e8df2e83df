using NeuralCore.Layers;
using NeuralCore.Tests.Kernels;

namespace NeuralCore.Tests.Layers;

/// <summary>
/// How a built-in layer is built for the shared tests, and what its shape must be: its output width and parameter
/// count for a given input width and requested width (<c>outputs</c> is used by layers that choose their width).
/// </summary>
public sealed record LayerSpec(
    string Name, Func<int, int, ulong, ILayer> Create, Func<int, int, int> ExpectedOutputs, Func<int, int, int> ExpectedParameters)
{
    public override string ToString() => Name;
}

/// <summary>Every built-in layer, in each configuration worth testing on its own, for the contract tests.</summary>
public static class LayerFactory
{
    private static readonly LayerSpec[] Specs =
    [
        Dense("dense", Activation.Linear, useBias: true),
        Dense("dense_no_bias", Activation.Linear, useBias: false),
        Dense("dense_relu", Activation.Relu, useBias: true),
        Dense("dense_relu_no_bias", Activation.Relu, useBias: false),
        Dense("dense_sigmoid", Activation.Sigmoid, useBias: true),
        Dense("dense_tanh", Activation.Tanh, useBias: true),
        Dense("dense_softmax", Activation.Softmax, useBias: true),
        SameWidth("relu", n => new Relu(n)),
        SameWidth("relu_options", n => new Relu { MaxValue = 0.5f, NegativeSlope = 0.2f, Threshold = 0.1f }.Built(n)),
        SameWidth("leaky_relu", n => new LeakyRelu(n)),
        SameWidth("rescaling", n => new Rescaling(1f / 255).Built(n)),
        SameWidth("rescaling_offset", n => new Rescaling(-1.5f, offset: 0.25f).Built(n)),
        new LayerSpec("p_re_lu", (i, _, _) => new PRelu(i, initialAlpha: 0.25f), (i, _) => i, (i, _) => i),
        new LayerSpec("p_re_lu_shared", (i, _, _) => new PRelu(i, initialAlpha: -0.3f, sharedAlpha: true), (i, _) => i, (_, _) => 1),
        SameWidth("sigmoid", n => new Sigmoid(n)),
        SameWidth("tanh", n => new Tanh(n)),
        SameWidth("gelu", n => new Gelu(n)),
        SameWidth("gelu_approximate", n => new Gelu(n, approximate: true)),
        SameWidth("elu", n => new Elu(n)),
        SameWidth("elu_alpha", n => new Elu(n, alpha: 0.4f)),
        SameWidth("selu", n => new Selu(n)),
        SameWidth("silu", n => new Silu(n)),
        SameWidth("softplus", n => new Softplus(n)),
        SameWidth("softsign", n => new Softsign(n)),
        SameWidth("hard_sigmoid", n => new HardSigmoid(n)),
        SameWidth("hard_silu", n => new HardSilu(n)),
        SameWidth("mish", n => new Mish(n)),
        SameWidth("softmax", n => new Softmax(n)),
        new LayerSpec("batch_normalization", (i, _, _) => new BatchNormalization(i), (i, _) => i, (i, _) => 2 * i),
        new LayerSpec("layer_normalization", (i, _, _) => new LayerNormalization(i), (i, _) => i, (i, _) => 2 * i),
        new LayerSpec("layer_normalization_no_center", (i, _, _) => new LayerNormalization(i, center: false), (i, _) => i, (i, _) => i),
        new LayerSpec("layer_normalization_no_scale", (i, _, _) => new LayerNormalization(i, epsilon: 0.01f, scale: false), (i, _) => i, (i, _) => i),
        new LayerSpec("layer_normalization_bare", (i, _, _) => new LayerNormalization(i, center: false, scale: false), (i, _) => i, (_, _) => 0),
        new LayerSpec("normalization", (i, _, seed) => Adapted(i, seed, invert: false), (i, _) => i, (_, _) => 0),
        new LayerSpec("normalization_invert", (i, _, seed) => Adapted(i, seed, invert: true), (i, _) => i, (_, _) => 0),
        new LayerSpec("dropout", (i, _, seed) => new Dropout(i, 0.3f, seed), (i, _) => i, (_, _) => 0),
        new LayerSpec("gaussian_noise", (i, _, seed) => new GaussianNoise(i, 0.3f, seed), (i, _) => i, (_, _) => 0),
        new LayerSpec("gaussian_dropout", (i, _, seed) => new GaussianDropout(i, 0.3f, seed), (i, _) => i, (_, _) => 0),
        new LayerSpec("alpha_dropout", (i, _, seed) => new AlphaDropout(i, 0.3f, seed), (i, _) => i, (_, _) => 0),
    ];

    public static TheoryData<string> Names()
    {
        var names = new TheoryData<string>();
        foreach (LayerSpec spec in Specs)
        {
            names.Add(spec.Name);
        }

        return names;
    }

    public static LayerSpec Spec(string name) =>
        Specs.FirstOrDefault(s => s.Name == name) ?? throw new ArgumentException($"unknown layer {name}", nameof(name));

    public static ILayer Create(string name, int inputSize, int outputSize, ulong seed) =>
        Spec(name).Create(inputSize, outputSize, seed);

    private static LayerSpec Dense(string name, Activation activation, bool useBias) => new(
        name,
        (i, o, seed) => new Dense(i, o, seed, activation, useBias),
        (_, o) => o,
        (i, o) => (i * o) + (useBias ? o : 0));

    // Statistics of seeded data with offsets and spreads of their own per feature, none constant.
    private static Normalization Adapted(int size, ulong seed, bool invert)
    {
        float[] data = Seeded.Uniform(6 * size, (int)(seed % 100_000), 2f);
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (data[i] * (1 + (i % size))) + (i % size);
        }

        var adapted = new Normalization(size);
        adapted.Adapt(data, 6);
        return invert ? (Normalization)new Normalization(adapted.Mean.Span, adapted.Variance.Span, invert: true).Built(size) : adapted;
    }

    private static LayerSpec SameWidth(string name, Func<int, ILayer> create) =>
        new(name, (i, _, _) => create(i), (i, _) => i, (_, _) => 0);

    private static Layer Built(this Layer layer, int size)
    {
        layer.Build(size, 0);
        return layer;
    }
}
