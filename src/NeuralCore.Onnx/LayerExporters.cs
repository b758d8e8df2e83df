using NeuralCore.Configuration;
using NeuralCore.Layers;

namespace NeuralCore.Onnx;

/// <summary>The ONNX form of the library's layers that need more than one operator.</summary>
internal static class LayerExporters
{
    /// <summary><c>Gemm(input, W, b)</c> (no C without a bias), then the activation.</summary>
    public static string Dense(Dense layer, OnnxGraphBuilder graph, string input)
    {
        int inputs = layer.InputSize, units = layer.Units;
        string weights = graph.AddInitializer(layer.Name + "/kernel", layer.Weights.Span, inputs, units);
        string[] operands = layer.UseBias
            ? [input, weights, graph.AddInitializer(layer.Name + "/bias", layer.Bias.Span, units)]
            : [input, weights];
        string output = graph.AddNode("Gemm", layer.Name + "/Gemm", operands);
        return layer.Activation switch
        {
            Activation.Linear => output,
            Activation.Relu => graph.AddNode("Relu", layer.Name + "/Relu", [output]),
            Activation.Sigmoid => graph.AddNode("Sigmoid", layer.Name + "/Sigmoid", [output]),
            Activation.Tanh => graph.AddNode("Tanh", layer.Name + "/Tanh", [output]),
            Activation.Softmax => graph.AddNode("Softmax", layer.Name + "/Softmax", [output], OnnxAttributeValue.Of("axis", -1L)),
            _ => throw new NotSupportedException($"Layer '{Names.Printable(layer.Name)}': activation {layer.Activation} has no ONNX form."),
        };
    }

    /// <summary>
    /// Keras's ReLU, <c>f(x) = min(x, max_value)</c> for <c>x ≥ threshold</c> and <c>negative_slope·(x − threshold)</c>
    /// below: <c>Relu</c> when plain, <c>Clip</c> with only a maximum, <c>LeakyRelu</c> with only a slope, otherwise
    /// <c>Where(x ≥ threshold, Min(x, max), slope·(x − threshold))</c> (0 below the threshold when there is no slope).
    /// </summary>
    public static string Relu(Relu layer, OnnxGraphBuilder graph, string input)
    {
        string name = layer.Name;
        if (layer.IsPlain)
        {
            return graph.AddNode("Relu", name, [input]);
        }

        if (layer.Threshold == 0 && layer.NegativeSlope == 0)
        {
            return graph.AddNode("Clip", name + "/Clip", [input, graph.AddScalar(name + "/min", 0f), graph.AddScalar(name + "/max", layer.MaxValue!.Value)]);
        }

        if (layer.Threshold == 0 && layer.MaxValue is null)
        {
            return graph.AddNode("LeakyRelu", name + "/LeakyRelu", [input], OnnxAttributeValue.Of("alpha", layer.NegativeSlope));
        }

        string threshold = graph.AddScalar(name + "/threshold", layer.Threshold);
        string above = graph.AddNode("GreaterOrEqual", name + "/above", [input, threshold]);
        string kept = layer.MaxValue is { } max ? graph.AddNode("Min", name + "/Min", [input, graph.AddScalar(name + "/max", max)]) : input;
        // Without a slope the branch below is a constant 0: written as 0·(x − threshold) it gave NaN at −∞, where the
        // library gives 0.
        string below = layer.NegativeSlope == 0
            ? graph.AddScalar(name + "/zero", 0f)
            : graph.AddNode("Mul", name + "/Mul", [graph.AddNode("Sub", name + "/Sub", [input, threshold]), graph.AddScalar(name + "/negative_slope", layer.NegativeSlope)]);
        return graph.AddNode("Where", name + "/Where", [above, kept, below]);
    }

    /// <summary>
    /// <c>LeakyRelu</c> with the layer's slope as alpha, or <c>Relu</c> when the slope is 0: ONNX Runtime computes
    /// <c>alpha·x</c> below zero, which is NaN at −∞ for alpha 0, where the library gives 0.
    /// </summary>
    public static string LeakyRelu(LeakyRelu layer, OnnxGraphBuilder graph, string input) =>
        layer.NegativeSlope == 0
            ? graph.AddNode("Relu", layer.Name, [input])
            : graph.AddNode("LeakyRelu", layer.Name, [input], OnnxAttributeValue.Of("alpha", layer.NegativeSlope));

    /// <summary>
    /// <c>Mul(input, scale)</c>, then <c>Add(…, offset)</c> unless the offset is 0, each constant a scalar (shape []): the
    /// two rounded float operations the layer performs, so ONNX Runtime computes the same bits.
    /// </summary>
    public static string Rescaling(Rescaling layer, OnnxGraphBuilder graph, string input)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(graph);
        string name = layer.Name;
        string scaled = graph.AddNode("Mul", name + "/Mul", [input, graph.AddScalar(name + "/scale", layer.Scale)]);
        return layer.Offset == 0f ? scaled : graph.AddNode("Add", name + "/Add", [scaled, graph.AddScalar(name + "/offset", layer.Offset)]);
    }

    /// <summary>
    /// <c>Div(Sub(input, mean), std)</c>, or inverted <c>Add(Mul(input, std), mean)</c>, with <c>std = max(√variance,
    /// 1e-7)</c> as an initializer: the float operations Keras's layer performs, so ONNX Runtime computes the same bits.
    /// </summary>
    public static string Normalization(Normalization layer, OnnxGraphBuilder graph, string input)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(graph);
        try
        {
            layer.CheckState();
        }
        catch (InvalidDataException e)
        {
            // ONNX Runtime would compute NaN for that feature, and the library's own files refuse it.
            throw new ArgumentException($"{e.Message} Nothing was written.", nameof(layer), e);
        }

        string name = layer.Name;
        int features = layer.InputSize;
        float[] scales = new float[features];
        layer.GetScales(scales);
        string mean = graph.AddInitializer(name + "/mean", layer.Mean.Span, features);
        string std = graph.AddInitializer(name + "/std", scales, features);
        return layer.Invert
            ? graph.AddNode("Add", name + "/Add", [graph.AddNode("Mul", name + "/Mul", [input, std]), mean])
            : graph.AddNode("Div", name + "/Div", [graph.AddNode("Sub", name + "/Sub", [input, mean]), std]);
    }

    /// <summary>
    /// Keras 3's hard sigmoid, <c>relu6(x + 3)/6</c>, as ONNX's <c>HardSigmoid</c>: <c>max(0, min(1, α·x + β))</c> with
    /// α = 1/6 and β = ½ (its defaults, 0.2 and ½, are Keras 2's).
    /// </summary>
    /// <param name="name">The node's name.</param>
    /// <param name="graph">The graph.</param>
    /// <param name="input">The input's name.</param>
    /// <returns>The output's name.</returns>
    public static string HardSigmoid(string name, OnnxGraphBuilder graph, string input)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return graph.AddNode("HardSigmoid", name, [input], OnnxAttributeValue.Of("alpha", 1f / 6), OnnxAttributeValue.Of("beta", 0.5f));
    }

    /// <summary>Keras 3's hard SiLU, <c>x·relu6(x + 3)/6</c>, as opset 14's <c>HardSwish</c> (the same function).</summary>
    /// <param name="layer">The layer.</param>
    /// <param name="graph">The graph.</param>
    /// <param name="input">The input's name.</param>
    /// <returns>The output's name.</returns>
    public static string HardSilu(HardSilu layer, OnnxGraphBuilder graph, string input)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(graph);
        graph.RequireOpset(14);
        return graph.AddNode("HardSwish", layer.Name, [input]);
    }

    /// <summary>
    /// <c>PRelu(input, slope)</c> with the layer's slopes as an initializer: <c>[features]</c>, broadcast over the batch,
    /// or a scalar (rank 0) when one is shared. ONNX's PRelu computes <c>slope·x</c> below zero and x elsewhere, as the layer.
    /// </summary>
    /// <remarks>
    /// A shared slope is a scalar rather than <c>[1]</c> so that the reader can tell it from the per-feature slope of a
    /// one-feature layer (<c>[1]</c> too), and the layer's <see cref="PRelu.SharedAlpha"/> survives the round trip.
    /// </remarks>
    public static string PRelu(PRelu layer, OnnxGraphBuilder graph, string input)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(graph);
        ReadOnlySpan<float> alpha = layer.Alpha.Span;
        long[] dims = layer.SharedAlpha ? [] : [alpha.Length];
        return graph.AddNode("PRelu", layer.Name, [input, graph.AddInitializer(layer.Name + "/alpha", alpha, dims)]);
    }

    /// <summary>
    /// Opset 17's <c>LayerNormalization(input, γ, β)</c> over the last axis (<c>axis = -1</c>) with the layer's ε; γ is
    /// ones without <see cref="Layers.LayerNormalization.Scale"/> (the operator needs it), and β is left out without
    /// <see cref="Layers.LayerNormalization.Center"/>. ONNX Runtime computes it in float, the library in double.
    /// </summary>
    public static string LayerNormalization(LayerNormalization layer, OnnxGraphBuilder graph, string input)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(graph);
        graph.RequireOpset(17);
        string name = layer.Name;
        int features = layer.InputSize;
        ReadOnlySpan<float> parameters = layer.Parameters.Span;
        float[]? ones = layer.Scale ? null : new float[features];
        ones?.AsSpan().Fill(1f);
        string scale = graph.AddInitializer(name + "/gamma", layer.Scale ? parameters[..features] : ones, features);
        string[] inputs = layer.Center
            ? [input, scale, graph.AddInitializer(name + "/beta", parameters.Slice(layer.Scale ? features : 0, features), features)]
            : [input, scale];
        return graph.AddNode("LayerNormalization", name, inputs, OnnxAttributeValue.Of("axis", -1L), OnnxAttributeValue.Of("epsilon", layer.Epsilon));
    }

    /// <summary>
    /// <c>BatchNormalization(input, γ, β, running mean, running variance)</c> with the layer's ε and momentum (ONNX's
    /// momentum has Keras's meaning): inference, as a prediction computes it.
    /// </summary>
    public static string BatchNormalization(BatchNormalization layer, OnnxGraphBuilder graph, string input)
    {
        string name = layer.Name;
        int features = layer.InputSize;
        try
        {
            layer.CheckState();
        }
        catch (InvalidDataException e)
        {
            // ONNX Runtime would compute NaN for that feature, and the import refuses such a file.
            throw new ArgumentException($"{e.Message} Nothing was written.", nameof(layer), e);
        }

        ReadOnlySpan<float> parameters = layer.Parameters.Span;
        return graph.AddNode("BatchNormalization", name,
        [
            input,
            graph.AddInitializer(name + "/gamma", parameters[..features], features),
            graph.AddInitializer(name + "/beta", parameters[features..], features),
            graph.AddInitializer(name + "/moving_mean", layer.MovingMean.Span, features),
            graph.AddInitializer(name + "/moving_variance", layer.MovingVariance.Span, features),
        ],
            OnnxAttributeValue.Of("epsilon", layer.Epsilon),
            OnnxAttributeValue.Of("momentum", layer.Momentum));
    }

    /// <summary>
    /// GELU, which opset 13 lacks: exact <c>0.5·x·(1 + erf(x/√2))</c>, or approximate
    /// <c>0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))</c>.
    /// </summary>
    public static string Gelu(Gelu layer, OnnxGraphBuilder graph, string input)
    {
        string name = layer.Name;
        string inner;
        if (layer.Approximate)
        {
            string cube = graph.AddNode("Mul", name + "/x2", [input, input]);
            cube = graph.AddNode("Mul", name + "/x3", [cube, input]);
            string scaled = graph.AddNode("Mul", name + "/cx3", [cube, graph.AddScalar(name + "/c", 0.044715f)]);
            string sum = graph.AddNode("Add", name + "/sum", [input, scaled]);
            string argument = graph.AddNode("Mul", name + "/arg", [sum, graph.AddScalar(name + "/sqrt_2_over_pi", MathF.Sqrt(2f / MathF.PI))]);
            inner = graph.AddNode("Tanh", name + "/Tanh", [argument]);
        }
        else
        {
            string argument = graph.AddNode("Mul", name + "/arg", [input, graph.AddScalar(name + "/inv_sqrt_2", 1f / MathF.Sqrt(2f))]);
            inner = graph.AddNode("Erf", name + "/Erf", [argument]);
        }

        string onePlus = graph.AddNode("Add", name + "/one_plus", [inner, graph.AddScalar(name + "/one", 1f)]);
        string half = graph.AddNode("Mul", name + "/half_x", [input, graph.AddScalar(name + "/half", 0.5f)]);
        return graph.AddNode("Mul", name + "/Mul", [half, onePlus]);
    }
}
