using System.Globalization;
using System.Reflection;
using Google.Protobuf;
using NeuralCore.IO;
using NeuralCore.Layers;
using NeuralCore.Losses;
using NeuralCore.Models;
using NeuralCore.Onnx.Schema;

namespace NeuralCore.Onnx;

/// <summary>Options of <see cref="OnnxExport.ToOnnx"/>.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>
    /// Whether the graph ends with what the loss applies to make predictions (default true), so that it outputs what
    /// <c>Predict</c> returns: a softmax for a categorical cross-entropy on logits, a sigmoid for a binary one. False
    /// exports the last layer's raw outputs, as <c>Infer</c> returns them.
    /// </summary>
    public bool IncludeLossActivation { get; init; } = true;

    /// <summary>The graph input's name (default <c>input</c>), shaped <c>[batch, InputSize]</c>.</summary>
    public string InputName { get; init; } = "input";

    /// <summary>The graph output's name (default <c>output</c>), shaped <c>[batch, OutputSize]</c>.</summary>
    public string OutputName { get; init; } = "output";
}

/// <summary>
/// Writes a <see cref="Sequential"/> model as an ONNX model (IR version 8, opset 13, 14 with a hard SiLU, or 17 with a layer
/// normalization; default domain), which ONNX
/// Runtime and other ONNX tools can run: one input <c>[batch, InputSize]</c>, one output <c>[batch, OutputSize]</c>,
/// the weights as initializers. Dense is a <c>Gemm</c> (W as B, b as C), followed by its activation; ReLU is
/// <c>Relu</c>, or with Keras's options a <c>Clip</c>, a <c>LeakyRelu</c> or a composition with <c>Where</c>;
/// LeakyReLU, ELU, SELU, Softplus, Softsign, Sigmoid, Tanh and Softmax map to their operators, PReLU to <c>PRelu</c> with its
/// slopes, the hard sigmoid to <c>HardSigmoid</c> (α = 1/6, β = ½) and the hard SiLU to opset 14's <c>HardSwish</c>;
/// GELU is composed of <c>Erf</c>
/// (exact) or <c>Tanh</c> (approximate), opset 13 having no GELU, SiLU of <c>Sigmoid</c> and <c>Mul</c>, and Mish of
/// <c>Softplus</c>, <c>Tanh</c> and <c>Mul</c> (opset 18's <c>Mish</c> is past the IR version written);
/// BatchNormalization is <c>BatchNormalization</c> with its running statistics (inference); LayerNormalization is
/// opset 17's <c>LayerNormalization</c> over the last axis; Normalization is <c>Sub</c> and <c>Div</c> (inverted,
/// <c>Mul</c> and <c>Add</c>) with its statistics; Rescaling is <c>Mul</c> by its scale and <c>Add</c> of its offset (none
/// when 0), scalars; Dropout and the noise layers (GaussianNoise, GaussianDropout,
/// AlphaDropout) are the identity, as
/// in inference. A layer type of your own is
/// exported once its exporter is registered (<see cref="Register{TLayer}"/>).
/// </summary>
public static class OnnxExport
{
    /// <summary>The ONNX operator set a graph uses, unless one of its layers needs a later one (<see cref="OnnxGraphBuilder.RequireOpset"/>).</summary>
    public const int Opset = 13;

    /// <summary>The latest operator set an exporter may ask for: 17, the first with <c>LayerNormalization</c> (IR version 8 allows it).</summary>
    public const int MaxOpset = 17;

    /// <summary>The ONNX IR version written.</summary>
    public const long IrVersion = 8;

    private static readonly Dictionary<Type, Func<ILayer, OnnxGraphBuilder, string, string>> Exporters = new()
    {
        [typeof(Dense)] = (layer, graph, input) => LayerExporters.Dense((Dense)layer, graph, input),
        [typeof(Relu)] = (layer, graph, input) => LayerExporters.Relu((Relu)layer, graph, input),
        [typeof(LeakyRelu)] = (layer, graph, input) => LayerExporters.LeakyRelu((LeakyRelu)layer, graph, input),
        [typeof(PRelu)] = (layer, graph, input) => LayerExporters.PRelu((PRelu)layer, graph, input),
        [typeof(Sigmoid)] = (layer, graph, input) => graph.AddNode("Sigmoid", layer.Name, [input]),
        [typeof(Tanh)] = (layer, graph, input) => graph.AddNode("Tanh", layer.Name, [input]),
        [typeof(Gelu)] = (layer, graph, input) => LayerExporters.Gelu((Gelu)layer, graph, input),
        [typeof(Elu)] = (layer, graph, input) => graph.AddNode("Elu", layer.Name, [input], OnnxAttributeValue.Of("alpha", ((Elu)layer).Alpha)),
        [typeof(Selu)] = (layer, graph, input) => graph.AddNode("Selu", layer.Name, [input], OnnxAttributeValue.Of("alpha", Selu.Alpha), OnnxAttributeValue.Of("gamma", Selu.Scale)),
        [typeof(Silu)] = (layer, graph, input) => graph.AddNode("Mul", layer.Name + "/Mul", [input, graph.AddNode("Sigmoid", layer.Name + "/Sigmoid", [input])]),
        [typeof(Softplus)] = (layer, graph, input) => graph.AddNode("Softplus", layer.Name, [input]),
        [typeof(Softsign)] = (layer, graph, input) => graph.AddNode("Softsign", layer.Name, [input]),
        [typeof(HardSigmoid)] = (layer, graph, input) => LayerExporters.HardSigmoid(layer.Name, graph, input),
        [typeof(HardSilu)] = (layer, graph, input) => LayerExporters.HardSilu((HardSilu)layer, graph, input),
        [typeof(Mish)] = (layer, graph, input) => graph.AddNode("Mul", layer.Name + "/Mul",
            [input, graph.AddNode("Tanh", layer.Name + "/Tanh", [graph.AddNode("Softplus", layer.Name + "/Softplus", [input])])]),
        [typeof(BatchNormalization)] = (layer, graph, input) => LayerExporters.BatchNormalization((BatchNormalization)layer, graph, input),
        [typeof(LayerNormalization)] = (layer, graph, input) => LayerExporters.LayerNormalization((LayerNormalization)layer, graph, input),
        [typeof(Normalization)] = (layer, graph, input) => LayerExporters.Normalization((Normalization)layer, graph, input),
        [typeof(Rescaling)] = (layer, graph, input) => LayerExporters.Rescaling((Rescaling)layer, graph, input),
        [typeof(Softmax)] = (layer, graph, input) => graph.AddNode("Softmax", layer.Name, [input], OnnxAttributeValue.Of("axis", -1L)),
        [typeof(Dropout)] = (layer, graph, input) => graph.AddNode("Identity", layer.Name, [input]),
        [typeof(GaussianNoise)] = (layer, graph, input) => graph.AddNode("Identity", layer.Name, [input]),
        [typeof(GaussianDropout)] = (layer, graph, input) => graph.AddNode("Identity", layer.Name, [input]),
        [typeof(AlphaDropout)] = (layer, graph, input) => graph.AddNode("Identity", layer.Name, [input]),
    };

    private static readonly Lock Gate = new();

    /// <summary>
    /// Registers how a layer type of your own is exported (replacing any earlier exporter of that type): given the
    /// layer, the graph and the name of its input tensor, add its nodes and return the name of its output tensor.
    /// </summary>
    /// <typeparam name="TLayer">The layer type, matched exactly.</typeparam>
    /// <param name="exporter">The exporter.</param>
    /// <exception cref="ArgumentNullException"><paramref name="exporter"/> is null.</exception>
    public static void Register<TLayer>(Func<TLayer, OnnxGraphBuilder, string, string> exporter)
        where TLayer : ILayer
    {
        ArgumentNullException.ThrowIfNull(exporter);
        lock (Gate)
        {
            Exporters[typeof(TLayer)] = (layer, graph, input) => exporter((TLayer)layer, graph, input);
        }
    }

    /// <summary>Writes the model's ONNX form to <paramref name="path"/>, atomically (a temporary file, then a rename).</summary>
    /// <param name="model">The model; at least one layer.</param>
    /// <param name="path">The destination file; its folder must exist.</param>
    /// <param name="options">The options, or null for the defaults.</param>
    /// <exception cref="ArgumentException">The model has no layer, a parameter is NaN or infinite (named by layer and index), or the options name the input and output alike.</exception>
    /// <exception cref="NotSupportedException">
    /// A layer type has no exporter, the loss is not one of the library's and <see cref="OnnxExportOptions.IncludeLossActivation"/>
    /// is on, or the file would exceed <see cref="OnnxImport.MaxFileBytes"/>.
    /// </exception>
    /// <exception cref="InvalidOperationException">Another thread is training the model.</exception>
    /// <exception cref="IOException">The file cannot be written, or the path is not a regular file's (a directory, a FIFO, a device); an earlier file is untouched.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder or the file may not be written (permissions); an earlier file is untouched.</exception>
    public static void SaveOnnx(this Sequential model, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = model.ToOnnx(options);
        AtomicFile.Write(path, bytes);
    }

    /// <summary>The model's ONNX form, serialized (<see cref="OnnxExport"/>).</summary>
    /// <param name="model">The model; at least one layer.</param>
    /// <param name="options">The options, or null for the defaults.</param>
    /// <returns>The bytes of the ONNX <c>ModelProto</c>.</returns>
    /// <exception cref="ArgumentException">The model has no layer, a parameter is NaN or infinite (named by layer and index), or the options name the input and output alike.</exception>
    /// <exception cref="NotSupportedException">
    /// A layer type has no exporter, the loss is not one of the library's and <see cref="OnnxExportOptions.IncludeLossActivation"/>
    /// is on, or the file would exceed <see cref="OnnxImport.MaxFileBytes"/> (which <see cref="OnnxImport.Load"/> refuses).
    /// </exception>
    /// <exception cref="InvalidOperationException">Another thread is training the model.</exception>
    public static byte[] ToOnnx(this Sequential model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options ??= new OnnxExportOptions();
        if (model.Layers.Count == 0)
        {
            throw new ArgumentException($"The model '{Configuration.Names.Printable(model.Name)}' has no layer to export.", nameof(model));
        }

        using Sequential.ReadScope read = model.EnterRead("ToOnnx");
        // The weights alone, before anything is built: protobuf sizes messages in 32-bit integers (a 2.3 GB model threw
        // OverflowException), and a file over the import's limit could not be read back.
        long weightBytes = 4 * model.Layers.Sum(l => (long)l.ParameterCount);
        if (weightBytes > OnnxImport.MaxFileBytes)
        {
            throw TooLarge(model, weightBytes);
        }

        // OnnxImport and ModelFile.Load refuse a NaN or infinite weight (every prediction would be NaN): no file of
        // ours holds one.
        for (int i = 0; i < model.Layers.Count; i++)
        {
            ReadOnlySpan<float> parameters = model.Layers[i].Parameters.Span;
            int bad = Kernels.Elementwise.IndexOfNonFinite(parameters);
            if (bad >= 0)
            {
                throw new ArgumentException(Configuration.Names.Printable(string.Create(CultureInfo.InvariantCulture,
                    $"The model's layer {i} ('{model.Layers[i].Name}'), parameter {bad}, is {parameters[bad]:R}: an exported model's weights must be finite; nothing was exported.")), nameof(model));
            }
        }

        ArgumentException.ThrowIfNullOrEmpty(options.InputName, "options.InputName");
        ArgumentException.ThrowIfNullOrEmpty(options.OutputName, "options.OutputName");
        if (options.InputName == options.OutputName)
        {
            throw new ArgumentException($"The input and the output are both named '{Configuration.Names.Printable(options.InputName)}'.", nameof(options));
        }

        var graph = new GraphProto { Name = model.Name };
        var builder = new OnnxGraphBuilder(graph);
        string current = builder.UniqueName(options.InputName);
        // Reserve the output's name, and that of the node that writes it, so that no layer takes them (a Dropout named
        // "output/Identity" made two nodes of that name, which ONNX Runtime refuses).
        builder.UniqueName(options.OutputName);
        string outputNode = builder.UniqueName(options.OutputName + "/Identity");
        graph.Input.Add(Tensor(options.InputName, model.InputSize));
        foreach (ILayer layer in model.Layers)
        {
            Func<ILayer, OnnxGraphBuilder, string, string>? export;
            lock (Gate)
            {
                Exporters.TryGetValue(layer.GetType(), out export);
            }

            if (export is null)
            {
                throw new NotSupportedException(
                    $"Layer '{Configuration.Names.Printable(layer.Name)}' of type {layer.GetType().Name} has no ONNX exporter: register one with OnnxExport.Register<{layer.GetType().Name}>(…).");
            }

            current = export(layer, builder, current);
        }

        if (options.IncludeLossActivation && model.Loss is { } loss)
        {
            current = LossActivation(loss, builder, current);
        }

        graph.Node.Add(new NodeProto { OpType = "Identity", Name = outputNode, Input = { current }, Output = { options.OutputName } });
        graph.Output.Add(Tensor(options.OutputName, model.OutputSize));

        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "NeuralCore",
            ProducerVersion = typeof(Sequential).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
            Graph = graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = string.Empty, Version = builder.Opset });
        int size = proto.CalculateSize();
        if (size > OnnxImport.MaxFileBytes)
        {
            throw TooLarge(model, size);
        }

        return proto.ToByteArray();
    }

    private static NotSupportedException TooLarge(Sequential model, long bytes) => new(string.Create(CultureInfo.InvariantCulture,
        $"The model '{Configuration.Names.Printable(model.Name)}' needs at least {bytes:N0} bytes as ONNX, more than the {OnnxImport.MaxFileBytes:N0} an ONNX file may hold here (OnnxImport.Load would refuse it); nothing was written. Use fewer parameters."));

    /// <summary>The node that turns the last layer's outputs into what the loss's predictions are.</summary>
    private static string LossActivation(ILoss loss, OnnxGraphBuilder graph, string input) => loss switch
    {
        CategoricalCrossentropy { FromLogits: true } => graph.AddNode("Softmax", "predictions/Softmax", [input], OnnxAttributeValue.Of("axis", -1L)),
        BinaryCrossentropy { FromLogits: true } => graph.AddNode("Sigmoid", "predictions/Sigmoid", [input]),
        CategoricalCrossentropy or BinaryCrossentropy or MeanSquaredError or MeanAbsoluteError or Huber or LogCosh
            or MeanSquaredLogarithmicError or MeanAbsolutePercentageError or Poisson or KLDivergence or CosineSimilarity or Hinge
            or SquaredHinge or CategoricalHinge => input,
        _ => throw new NotSupportedException(
            $"The loss {loss.GetType().Name} is not one of the library's, so what its predictions apply is unknown: export with IncludeLossActivation = false for the raw outputs."),
    };

    private static ValueInfoProto Tensor(string name, int features)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = features });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}
